/**
 * vtepd ↔ Linux kernel VXLAN: one `vtepd run` daemon on hypervisor 1, a kernel
 * vxlan device + bridge (KernelVtep, same VNI, dstport 4789) on hypervisor 2,
 * VMs behind both. ICMP echo VM to VM in both directions; each side's learned
 * FDB is read back through its own tool: `vtepd fdb show --json` must hold the
 * kernel side's VM MAC behind the kernel VTEP's underlay address, and
 * `bridge -j fdb show` on the kernel side must hold vtepd's VM MAC with
 * dst = vtepd's underlay address. Run with the kernel device's `udpcsum` and
 * `noudpcsum` over IPv4 (the kernel leaves the outer UDP checksum unfinished on
 * veth with udpcsum, see DESIGN.md), and once over an IPv6 underlay.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { daemonConfig } from '../../src/lab/topology.js';
import { controlRequest } from '../../src/control/control-client.js';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';
import { MAIN, daemonTestSkip, fdbShowCli, closeOnExit } from './support.js';

const VNI = 100;
const skip = daemonTestSkip();

/** Start `vtepd run` in hv1 only (OverlayLab.startDaemons starts two); the lab stops it on close. */
async function startVtepd(lab: OverlayLab): Promise<string> {
  const socket = join(lab.dir, 'hv1.sock');
  const configFile = join(lab.dir, 'hv1.json');
  const logFile = join(lab.dir, 'hv1.log');
  writeFileSync(configFile, JSON.stringify(daemonConfig(lab.topo, 1, { type: 'vxlan', vni: VNI, socket })));
  const out = createWriteStream(logFile);
  const child = spawn('ip', ['netns', 'exec', lab.topo.hvNs[0], process.execPath, MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const d = { hv: 1 as const, child, socket, configFile, logFile, exit };
  lab.daemons.push(d);
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vtepd exited (${child.exitCode}): ${lab.logTail(d)}`);
    if (await controlRequest(socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) return socket;
    if (Date.now() > deadline) throw new Error(`vtepd did not come up: ${lab.logTail(d)}`);
    await sleep(100);
  }
}

/** Through the CLI, as a user would. */
const vtepdFdb = fdbShowCli;

interface BridgeFdbRow { mac: string; ifname?: string; dst?: string; state?: string; flags?: string[] }
function kernelFdb(ns: string, dev: string): BridgeFdbRow[] {
  return JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' })) as BridgeFdbRow[];
}

async function interop(t: Test, v6: boolean, udpcsum: boolean): Promise<void> {
  const lab = new OverlayLab(`vki${process.pid}${v6 ? '6' : '4'}${udpcsum ? 'c' : 'n'}`, { v6 });
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [ul1, ul2] = lab.topo.underlay;
  const hv2 = lab.topo.hvNs[1];
  const kv = new KernelVtep({ netns: hv2, vni: VNI, local: ul2, underlayDev: 'ul0', udpChecksum: udpcsum, ports: ['vm21', 'vm22'], vxlanName: 'vx0', bridgeName: 'br0' });
  await kv.create();
  // No IPv6 on the kernel side's bridge/vxlan: keeps the overlay free of RS/MLD chatter.
  for (const dev of ['vx0', 'br0']) execFileSync('ip', ['netns', 'exec', hv2, 'sysctl', '-qw', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
  await kv.sync({ floodRemotes: [ul1], entries: [] }); // head-end replication towards vtepd
  const details = JSON.parse(execFileSync('ip', ['-n', hv2, '-d', '-j', 'link', 'show', 'vx0'], { encoding: 'utf8' }))[0].linkinfo.info_data;
  t.equal(details.port, 4789, 'kernel vxlan uses dstport 4789');
  t.equal(details.id, VNI, 'kernel vxlan VNI');
  if (!v6) t.equal(Boolean(details.udp_csum), udpcsum, `kernel device has ${udpcsum ? 'udpcsum' : 'noudpcsum'}`);
  const socket = await startVtepd(lab);

  // One echo run started on each side; the replies teach each side the other's second VM.
  const pairs: [string, string][] = [['vm11', 'vm21'], ['vm22', 'vm12']];
  for (const [a, b] of pairs) {
    const r = await lab.ping(a, b, 3, 2000);
    t.equal(r.received, r.sent, `${a} -> ${b}: ${r.received}/${r.sent} echo replies (${lab.vm(a).hv === 1 ? 'vtepd -> kernel' : 'kernel -> vtepd'})`);
  }

  const fdb = vtepdFdb(socket);
  for (const vm of ['vm21', 'vm22']) {
    const e = fdb.find((x) => x.mac === lab.vm(vm).mac && x.vni === VNI);
    t.ok(e, `vtepd learned ${vm} (${lab.vm(vm).mac})`);
    t.equal(e?.remote, ul2, `vtepd: ${vm} is behind the kernel VTEP ${ul2}`);
    t.equal(e?.port, null, `vtepd: ${vm} is not on a local port`);
  }
  for (const vm of ['vm11', 'vm12']) {
    const e = fdb.find((x) => x.mac === lab.vm(vm).mac && x.vni === VNI);
    t.equal(e?.port, vm, `vtepd: its own ${vm} on port ${vm}`);
  }

  const kfdb = kernelFdb(hv2, 'vx0');
  for (const vm of ['vm11', 'vm12']) {
    // Two rows per learned MAC: the bridge's (master br0: "out of port vx0") and the vxlan device's own (self, with dst).
    const rows = kfdb.filter((r) => r.mac === lab.vm(vm).mac);
    t.ok(rows.some((r) => r.dst === undefined && (r as { master?: string }).master === 'br0'), `kernel bridge learned ${vm} (${lab.vm(vm).mac}) on port vx0`);
    const self = rows.filter((r) => r.dst !== undefined);
    t.equal(self.length, 1, `kernel vxlan learned ${vm} with one destination`);
    t.equal(self[0]?.dst, ul1, `kernel: ${vm} is behind vtepd's underlay address ${ul1}`);
    t.not(self[0]?.state, 'permanent', `kernel: ${vm} entry was learned, not configured`);
  }
  // The kernel's own VMs sit on its bridge ports, not behind the tunnel.
  const brFdb = JSON.parse(execFileSync('bridge', ['-n', hv2, '-j', 'fdb', 'show', 'br', 'br0'], { encoding: 'utf8' })) as BridgeFdbRow[];
  for (const vm of ['vm21', 'vm22']) {
    t.ok(brFdb.some((r) => r.mac === lab.vm(vm).mac && r.ifname === vm), `kernel bridge has ${vm} on port ${vm}`);
  }
  const kc = await kv.counters();
  t.ok(kc.rxPackets > 0 && kc.txPackets > 0, `kernel vxlan moved frames both ways (rx ${kc.rxPackets}, tx ${kc.txPackets})`);
}

// The three labs share nothing (own namespaces, sockets, temp folders): run them side by side,
// their time is mostly process start-up on a busy host.
t.test('vtepd <-> kernel vxlan interop', { skip, jobs: 3 }, async (t) => {
  for (const udpcsum of [true, false]) {
    t.test(`IPv4 underlay, kernel ${udpcsum ? 'udpcsum' : 'noudpcsum'}`, (tt) => interop(tt, false, udpcsum));
  }
  // Over IPv6 the UDP checksum is mandatory (udpcsum/noudpcsum are IPv4 knobs): one run.
  t.test('IPv6 underlay', (tt) => interop(tt, true, true));
});

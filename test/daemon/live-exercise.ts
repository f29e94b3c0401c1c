/**
 * The live test's checks, shared by live.test.ts (AF_PACKET ports and underlay)
 * and live-afxdp.test.ts (AF_XDP): ping, learning and flooding, a TCP stream
 * with sha256, exact counters, and the CLI/metrics views of them.
 */
import type { FdbEntryJson } from '../../src/control/fdb-entry.js';
import type { FdbStats } from '../../src/control/fdb-stats.js';
import { type Test } from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { TraceResult } from '../../src/control/trace.js';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { callDaemon } from '../../src/control/control-client.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { MAIN, fdbShowCli } from './support.js';

const execFileP = promisify(execFile);

export const TYPES = ['vxlan', 'geneve', 'nvgre'] as const;
const MARK = 0x88b5; // IEEE local experimental ethertype: nothing else sends it

/** Through the CLI (`vtepd fdb show --json`) or, to save a node start per call, the control API. */
async function fdbJson(socket: string, cli = false): Promise<FdbEntryJson[]> {
  if (!cli) return (await callDaemon(socket, 'fdb.show')) as FdbEntryJson[];
  return fdbShowCli(socket);
}
export async function stats(socket: string): Promise<StatsSnapshot> {
  return (await callDaemon(socket, 'stats')) as StatsSnapshot;
}
export const port = (s: StatsSnapshot, name: string) => s.ports.find((p) => p.name === name)!;

/** Send `n` frames of ethertype MARK from VM `from` to MAC `dstMac`; count them arriving in VM `to`. */
export async function injectAndCount(t: Test, lab: OverlayLab, from: string, to: string, n: number): Promise<number> {
  const tx = new AfPacketPort({ interface: 'eth0', netns: lab.vm(from).ns, name: 'inject' });
  const rx = new AfPacketPort({ interface: 'eth0', netns: lab.vm(to).ns, name: 'count' });
  try {
    const b = new PacketBatch({ capacity: n });
    const frame = new Uint8Array(60);
    const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
    frame.set(mac(lab.vm(to).mac), 0);
    frame.set(mac(lab.vm(from).mac), 6);
    frame[12] = MARK >> 8;
    frame[13] = MARK & 0xff;
    for (let i = 0; i < n; i++) {
      frame[14] = i;
      b.append(frame, 0, 60, 60, 0, 0);
    }
    t.equal(tx.transmit(b), n, 'all injected frames sent');
    let got = 0;
    const seen = new Set<number>();
    const r = new PacketBatch({ capacity: 256 });
    const until = Date.now() + 5000;
    while (got < n && Date.now() < until) {
      r.clear();
      rx.receive(r);
      for (let i = 0; i < r.count; i++) {
        const f = r.frame(i);
        if (((f[12] << 8) | f[13]) === MARK && !seen.has(f[14])) { seen.add(f[14]); got++; }
      }
      await sleep(20);
    }
    await sleep(300); // anything extra (duplicates) would show up in the counters now
    return got;
  } finally {
    await tx.close();
    await rx.close();
  }
}

export type Plan = 'host' | 'native';
/** Backend of the daemons' VM ports and underlay. */
export type Io = 'afpacket' | 'afxdp';
export const NATIVE = { 'encap-decap': 'native', 'forwarding-learning': 'native' };

export async function exercise(t: Test, lab: OverlayLab, type: string, ul: [string, string], cli: boolean, plan: Plan, io: Io = 'afpacket'): Promise<void> {
  const [s1, s2] = [lab.daemons[0].socket, lab.daemons[1].socket];
  // Start from empty tables everywhere: vtepd FDBs (carried over by the reload) and the VMs' ARP caches.
  for (const vm of lab.topo.vms) {
    execFileSync('ip', ['-n', vm.ns, 'neigh', 'flush', 'all']);
    // Entries stay REACHABLE for the whole case: no ARP probe between two VMs lands inside the exact-counter window.
    execFileSync('ip', ['netns', 'exec', vm.ns, 'sysctl', '-qw', 'net.ipv4.neigh.eth0.base_reachable_time_ms=600000']);
  }
  for (const s of [s1, s2]) {
    if (cli) {
      const out = execFileSync(process.execPath, [MAIN, 'fdb', 'flush', '--socket', s], { encoding: 'utf8' });
      t.match(out, /^flushed \d+ entr(y|ies)\n$/, 'vtepd fdb flush reports what it removed');
    } else {
      await callDaemon(s, 'fdb.flush');
    }
    // The previous case's last frames (TCP teardown, neighbour probes) may still be in
    // flight and be learned again at once: flush until the table stays empty (bounded).
    let left = await fdbJson(s);
    for (let k = 0; k < 10 && left.length > 0; k++) {
      await sleep(300);
      await callDaemon(s, 'fdb.flush');
      left = await fdbJson(s);
    }
    t.same(left, [], 'FDB empty after flush');
  }
  const before1 = await stats(s1);
  for (const s of [before1, await stats(s2)]) {
    t.equal(s.offload['encap-decap'], plan, `${plan}: encap/decap runs in ${plan === 'host' ? 'TypeScript' : 'C'}`);
    t.equal(s.offload['forwarding-learning'], plan, `${plan}: forwarding/learning runs in ${plan === 'host' ? 'TypeScript' : 'C'}`);
  }
  const r = await lab.ping('vm11', 'vm21', 3);
  t.equal(r.received, 3, `${type}: vm11 -> vm21 ping 3/3`);
  const local = await lab.ping('vm11', 'vm12', 2);
  t.equal(local.received, 2, `${type}: vm11 -> vm12 (same hypervisor) 2/2`);

  // Learning: each side knows its own VMs on ports and the far VMs behind the far VTEP.
  const f1 = await fdbJson(s1, cli);
  const f2 = await fdbJson(s2);
  const where = (f: FdbEntryJson[], mac: string) => f.find((e) => e.mac === mac && e.vni === 100);
  t.match(where(f1, lab.vm('vm11').mac), { port: 'vm11', remote: null, static: false }, 'hv1 learned vm11 on its port');
  t.match(where(f1, lab.vm('vm21').mac), { port: null, remote: ul[1] }, 'hv1 learned vm21 behind hv2');
  t.match(where(f2, lab.vm('vm11').mac), { port: null, remote: ul[0] }, 'hv2 learned vm11 behind hv1');
  t.match(where(f2, lab.vm('vm21').mac), { port: 'vm21', remote: null }, 'hv2 learned vm21 on its port');
  // Capacity, as ovs-appctl fdb/stats-show: the same entries counted against the limits.
  if (cli) {
    const fs = JSON.parse(execFileSync(process.execPath, [MAIN, 'fdb', 'stats', '-j', '--socket', s1], { encoding: 'utf8' })) as FdbStats;
    const f1now = await fdbJson(s1);
    t.equal(fs.entries, f1now.length, 'fdb stats: entries = fdb show');
    t.equal(fs.maxEntries, 65536, 'fdb stats: the table\'s maximum (fdb.maxEntries default)');
    t.equal(fs.static + fs.learned, fs.entries);
    t.equal(fs.ports.find((p) => p.port === 'vm11')?.entries, f1now.filter((e) => e.port === 'vm11').length, 'fdb stats: entries behind a port');
    t.equal(fs.remotes.find((r) => r.remote === ul[1])?.entries, f1now.filter((e) => e.remote === ul[1]).length, 'fdb stats: entries behind a remote');
    t.ok(fs.counters.learned >= fs.learned, 'fdb stats: learning counters');
  }
  // Flooding: the first ARP request of a fresh network was flooded.
  const after1 = await stats(s1);
  t.ok(after1.networks[0].flooded > before1.networks[0].flooded, `${type}: broadcast/unknown frames were flooded (${after1.networks[0].flooded})`);
  t.equal(after1.networks[0].type, type);
  t.ok(port(after1, 'ul0').txPackets > port(before1, 'ul0').txPackets, 'underlay transmitted');

  // Bulk TCP across the overlay, checked end to end by sha256.
  const bulk = await lab.bulk('vm12', 'vm22', 2 << 20);
  t.equal(bulk.got.bytes, 2 << 20, `${type}: 2 MiB TCP stream arrived`);
  t.equal(bulk.got.sha, bulk.sent.sha, `${type}: TCP stream intact (sha256)`);

  // Exact counters: n injected frames to a learned MAC cross as n unicast frames at every hop.
  await sleep(300);
  const a1 = await stats(s1);
  const a2 = await stats(s2);
  const n = 50;
  const got = await injectAndCount(t, lab, 'vm11', 'vm21', n);
  t.equal(got, n, `${type}: ${n} injected frames arrived in vm21`);
  const b1 = await stats(s1);
  const b2 = await stats(s2);
  t.equal(port(b1, 'vm11').rxPackets - port(a1, 'vm11').rxPackets, n, 'hv1 vm11 rx += n');
  t.equal(port(b1, 'ul0').txPackets - port(a1, 'ul0').txPackets, n, 'hv1 underlay tx += n');
  t.equal(b1.networks[0].unicast - a1.networks[0].unicast, n, 'hv1 unicast += n');
  // The underlay also carries the hypervisors' own frames (ARP, IPv6 ND/MLD): decap counts them as not-tunnel.
  const other = (b2.drops['decap/not-tunnel'] ?? 0) - (a2.drops['decap/not-tunnel'] ?? 0);
  t.equal(port(b2, 'ul0').rxPackets - port(a2, 'ul0').rxPackets - other, n, 'hv2 underlay rx of tunnel frames += n');
  t.equal(port(b2, 'vm21').txPackets - port(a2, 'vm21').txPackets, n, 'hv2 vm21 tx += n');
  t.equal(b2.networks[0].unicast - a2.networks[0].unicast, n, 'hv2 unicast += n');
  t.equal(port(b2, 'vm22').txPackets - port(a2, 'vm22').txPackets, 0, 'nothing leaked to vm22');

  if (cli) {
    // The same counters through `vtepd ports --json` and the Prometheus endpoint (inside hv1's namespace).
    const ports = JSON.parse(execFileSync(process.execPath, [MAIN, 'ports', '--json', '--socket', s1], { encoding: 'utf8' })) as StatsSnapshot['ports'];
    const vm11 = ports.find((p) => p.name === 'vm11')!;
    t.match(vm11, { interface: 'vm11', backend: io, role: 'local', vni: 100, up: true });
    t.ok(vm11.rxPackets >= port(b1, 'vm11').rxPackets, 'ports --json shows the counters');
    const code = "fetch('http://127.0.0.1:9580/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))";
    const text = execFileSync('ip', ['netns', 'exec', lab.topo.hvNs[0], process.execPath, '-e', code], { encoding: 'utf8' });
    const m = /^vtepd_port_rx_packets_total\{port="vm11",interface="vm11",role="local"\} (\d+)$/m.exec(text);
    t.ok(m && Number(m[1]) >= port(b1, 'vm11').rxPackets, `metrics endpoint serves the port counters (${m?.[1]})`);
    t.match(text, new RegExp(`vtepd_network_unicast_total\\{network="[^"]*",vni="100",type="${type}"\\} \\d+`));

    // vtepd trace on the receiving side while a ping crosses: decap (this type, VNI 100) then the bridge to vm21.
    const traced = execFileP(process.execPath, [MAIN, 'trace', '--count', '6', '--timeout', '20', '--json', '--socket', s2], { encoding: 'utf8' });
    // Ping until the trace is answered (the CLI's start-up time is not known on a busy host).
    let answered = false;
    traced.then(() => { answered = true; }, () => { answered = true; });
    for (let k = 0; k < 40 && !answered; k++) await lab.ping('vm11', 'vm21', 1);
    const tr = JSON.parse((await traced).stdout) as TraceResult;
    const crossed = tr.frames.find((f) => f.role === 'underlay' && f.steps[0]?.verdict === 'decapsulated');
    if (!t.ok(crossed, `trace: a frame decapsulated on hv2 (${tr.traced} traced)`)) t.comment(JSON.stringify(tr).slice(0, 4000));
    t.match(crossed?.steps[0], { stage: 'decap', kind: type, vni: 100, remote: ul[0] }, 'trace: decap kind, VNI and remote');
    t.match(crossed?.steps[1], { stage: 'bridge', vni: 100 }, 'trace: then the bridge');
    t.ok(crossed?.steps.some((s) => s.stage === 'tx' && s.port === 'vm21'), 'trace: sent on vm21');
  }
}

/**
 * `vtepd run` with the kernel data path (offload encap-decap and
 * forwarding-learning: kernel). Without root: which configs the loader accepts
 * for it and which it refuses (nic, mixes, no real underlay, capture/file/VLAN
 * ports), and the start-time refusal of non-vxlan networks with the host
 * probe's reason. As root, on the two-hypervisor namespace topology with a
 * kernel-mode daemon on each side: the devices and FDB entries vtepd programs
 * (read back with `ip -j -d link` / `bridge -j fdb`), VM-to-VM ping over the
 * kernel overlay, `vtepd fdb add/del/flush` mirrored into the kernel, a SIGHUP
 * that changes the flood list and adds/removes a network, the watch repairing
 * entries deleted behind vtepd's back, and SIGTERM removing every device
 * vtepd created while leaving the ports.
 */
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig, ConfigError } from '../../src/config/config-load.js';
import { kernelHostProblems } from '../../src/pipeline/run-plan.js';
import type { Avail, KernelLinkType } from '../../src/offload/host-probe.js';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { daemonConfig } from '../../src/lab/topology.js';
import { controlRequest } from '../../src/control/control-client.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { MAIN, daemonTestSkip, fdbShowCli, closeOnExit } from './support.js';

const KERNEL = { 'encap-decap': 'kernel', 'forwarding-learning': 'kernel', checksum: 'kernel', segmentation: 'kernel' } as const;
const VNI = 100;

function baseConfig(): Record<string, any> {
  return {
    underlay: { interface: 'ul0', address: '192.0.2.1' },
    ports: [{ name: 'vm11', interface: 'vm11', backend: 'afpacket' }, { name: 'vm12', interface: 'vm12', backend: 'tap' }],
    networks: [{ vni: VNI, type: 'vxlan', ports: ['vm11', 'vm12'], remotes: ['192.0.2.2'] }],
    offload: { ...KERNEL },
  };
}

/** The loader's problems for `edit` applied to the base config ([] = accepted). */
function problems(edit: (c: Record<string, any>) => void): string[] {
  const c = baseConfig();
  edit(c);
  try {
    validateConfig(c, 'test');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

t.test('config: the kernel data path is accepted for run; nic, mixes and what the kernel cannot bridge are refused', async (t) => {
  t.same(problems(() => undefined), [], 'encap-decap + forwarding-learning kernel, checksum/segmentation kernel');
  t.same(problems((c) => { c.offload.checksum = 'nic'; c.offload.segmentation = 'nic'; }), [], 'checksum/segmentation nic behind the kernel datapath');
  t.match(problems((c) => { c.offload.checksum = 'host'; }).join('\n'), /checksum \(host\) and segmentation \(kernel\) cannot stay in vtepd; set them to kernel or nic/);
  t.match(problems((c) => { c.offload['forwarding-learning'] = 'native'; }).join('\n'),
    /encap-decap: kernel with forwarding-learning: native cannot work together: .*put both on kernel, or both in vtepd/);
  t.match(problems((c) => { c.offload['encap-decap'] = 'host'; c.offload.checksum = 'host'; c.offload.segmentation = 'host'; }).join('\n'),
    /encap-decap: host with forwarding-learning: kernel cannot work together/);
  const nic = problems((c) => { c.offload = { 'encap-decap': 'nic', 'forwarding-learning': 'nic', checksum: 'nic', segmentation: 'nic' }; });
  t.match(nic.join('\n'), /offload\.encap-decap: nic puts the data path in the NIC .* use kernel for both encap-decap and forwarding-learning/);
  t.match(nic.join('\n'), /offload\.forwarding-learning: nic puts the data path in the NIC/);
  t.match(problems((c) => { c.underlay.transport = 'udp'; }).join('\n'), /underlay\.transport: udp: the kernel data path .* set transport afpacket/);
  t.match(problems((c) => { c.ports[0] = { name: 'vm11', backend: 'pcap', readFile: '/tmp/x.pcap' }; }).join('\n'),
    /ports\[0\] \(vm11\): backend pcap cannot be a port of the kernel bridge/);
  t.match(problems((c) => { c.ports[0].backend = 'cap'; }).join('\n'), /ports\[0\] \(vm11\): backend cap cannot be a port of the kernel bridge/);
  t.match(problems((c) => { c.ports[0].vlan = 10; }).join('\n'), /ports\[0\] \(vm11\)\.vlan: VLAN members are not bridged in kernel mode/);
  t.same(problems((c) => { c.ports.push({ name: 'spare', backend: 'pcap', readFile: '/tmp/x.pcap' }); }), [], 'a pcap port in no network does not matter');
  // The userspace plans keep their own checks.
  t.match(problems((c) => { c.offload = { 'encap-decap': 'host', 'forwarding-learning': 'host', checksum: 'host', segmentation: 'kernel' }; }).join('\n'),
    /offload\.segmentation: kernel: vtepd's ports never take GSO super-frames/);
});

t.test('host: networks the kernel cannot carry are refused with the probe\'s reason', async (t) => {
  const yes = (r = 'ok'): Avail => ({ ok: true, reason: r });
  const links = (over: Partial<Record<KernelLinkType, Avail>>): Record<KernelLinkType, Avail> => ({ vxlan: yes(), geneve: yes(), gretap: yes(), bridge: yes(), ...over });
  const cfg = validateConfig(baseConfig());
  t.same(kernelHostProblems(cfg, links({ geneve: { ok: false, reason: 'no geneve' } })), [], 'vxlan only: fine');
  const two = validateConfig({ ...baseConfig(), networks: [...baseConfig().networks, { vni: 7, type: 'geneve' }, { vni: 8, type: 'nvgre' }] });
  t.same(kernelHostProblems(two, links({ geneve: { ok: false, reason: 'the kernel has no geneve devices' }, gretap: { ok: false, reason: 'no gretap either' } })), [
    'networks[1] (vni 7): offload.encap-decap: kernel for geneve is not available on this host: the kernel has no geneve devices',
    'networks[2] (vni 8): offload.encap-decap: kernel for nvgre is not available on this host: no gretap either',
  ]);
  t.match(kernelHostProblems(two, links({})).join('\n'), /networks\[1\] \(vni 7\): type geneve: vtepd's kernel mode builds vxlan devices only/,
    'a kernel with geneve: still vxlan only');
  t.match(kernelHostProblems(cfg, links({ bridge: { ok: false, reason: 'no bridge' } })), ['offload.forwarding-learning: kernel is not available on this host: no bridge']);
});

const skip = daemonTestSkip();

interface LinkInfo { ifname: string; master?: string; linkinfo?: { info_kind: string; info_data: Record<string, unknown> } }
interface FdbRow { mac: string; ifname?: string; dst?: string; master?: string; state?: string; flags?: string[] }

t.test('kernel-mode daemons in namespaces', { skip }, async (t) => {
  const lab = new OverlayLab(`vkm${process.pid}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [ns1, ns2] = lab.topo.hvNs;
  const [ul1, ul2] = lab.topo.underlay;
  const link = (ns: string, dev: string): LinkInfo | undefined => {
    const r = spawnSync('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
    return r.status === 0 ? (JSON.parse(r.stdout) as LinkInfo[])[0] : undefined;
  };
  const fdb = (ns: string, ...sel: string[]): FdbRow[] => JSON.parse(execFileSync('bridge', ['-n', ns, '-j', 'fdb', 'show', ...sel], { encoding: 'utf8' }) || '[]') as FdbRow[];
  const floodList = (ns: string, dev = 'vtx100'): string[] => fdb(ns, 'dev', dev).filter((r) => r.mac === '00:00:00:00:00:00').map((r) => r.dst!).sort();
  const permanentRemote = (ns: string, mac: string): string[] => fdb(ns, 'dev', 'vtx100').filter((r) => r.mac === mac && r.state === 'permanent').map((r) => r.dst!);
  const staticOn = (ns: string, port: string, mac: string): boolean => fdb(ns, 'dev', port).some((r) => r.mac === mac && r.state === 'static' && r.master === 'vtb100');
  const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  const until = async (what: string, ok: () => boolean, timeoutMs = 20000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await sleep(200);
    }
  };

  const configs: Record<string, unknown>[] = [];
  for (const hv of [1, 2] as const) {
    const c = daemonConfig(lab.topo, hv, { type: 'vxlan', vni: VNI, socket: join(lab.dir, `hv${hv}.sock`), offload: { ...KERNEL } });
    if (hv === 1) {
      // A tap port whose device does not exist yet: vtepd creates it (persistent, for a VM to attach) and removes it on stop.
      (c.ports as unknown[]).push({ name: 'tap1', interface: 'vtap1', backend: 'tap' });
      (c.networks as { ports: string[] }[])[0].ports.push('tap1');
      c.fdb = { ageing: 120, static: [{ vni: VNI, mac: '02:00:00:00:aa:01', remote: ul2 }, { vni: VNI, mac: '02:00:00:00:aa:02', port: 'vm12' }] };
    }
    configs.push(c);
  }

  // Refused at start, before any device exists: a port interface that is not there, a network the kernel cannot carry.
  const badFile = join(lab.dir, 'bad.json');
  for (const [what, edit, reason] of [
    ['missing port interface', (c: any) => { c.ports[0].interface = 'nope0'; }, /ports\[0\] \(vm11\)\.interface: nope0 does not exist on this host/],
    ['geneve network', (c: any) => { c.networks.push({ vni: 300, type: 'geneve' }); }, /networks\[1\] \(vni 300\): (offload\.encap-decap: kernel for geneve is not available on this host|type geneve: vtepd's kernel mode builds vxlan devices only)/],
  ] as const) {
    const c = structuredClone(configs[0]) as any;
    c.control = { socket: join(lab.dir, 'bad.sock') };
    edit(c);
    writeFileSync(badFile, JSON.stringify(c));
    const r = spawnSync('ip', ['netns', 'exec', ns1, process.execPath, MAIN, 'run', '--config', badFile], { encoding: 'utf8', timeout: 30000 });
    t.equal(r.status, 2, `${what}: vtepd run exits 2 (a configuration problem)`);
    t.match(r.stderr + r.stdout, reason, `${what}: says why`);
    t.equal(link(ns1, 'vtx100'), undefined, `${what}: no device left behind`);
    t.equal(link(ns1, 'vtb100'), undefined, `${what}: no bridge left behind`);
  }

  // Both hypervisors in kernel mode.
  for (const hv of [1, 2] as const) {
    const socket = join(lab.dir, `hv${hv}.sock`);
    const configFile = join(lab.dir, `hv${hv}.json`);
    const logFile = join(lab.dir, `hv${hv}.log`);
    writeFileSync(configFile, JSON.stringify(configs[hv - 1]));
    const out = createWriteStream(logFile);
    const child = spawn('ip', ['netns', 'exec', lab.topo.hvNs[hv - 1], process.execPath, MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const d = { hv, child, socket, configFile, logFile, exit };
    lab.daemons.push(d);
    const deadline = Date.now() + 20000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vtepd hv${hv} exited (${child.exitCode}): ${lab.logTail(d)}`);
      if (await controlRequest(socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`vtepd hv${hv} did not come up: ${lab.logTail(d)}`);
      await sleep(100);
    }
  }
  const [d1] = lab.daemons;
  const sock1 = d1.socket;

  t.test('devices and programmed entries', async (t) => {
    const vx = link(ns1, 'vtx100');
    t.equal(vx?.linkinfo?.info_kind, 'vxlan');
    const info = vx?.linkinfo?.info_data ?? {};
    t.equal(info.id, VNI, 'VNI');
    t.equal(info.local, ul1, 'local = underlay.address');
    t.equal(info.link, 'ul0', 'dev = underlay.interface');
    t.equal(info.port, 4789, 'dstport = the network udpPort');
    t.equal(info.learning, true, 'learning on');
    t.equal(info.ageing, 120, 'vxlan ageing = fdb.ageing');
    t.equal(vx?.master, 'vtb100', 'vxlan device in the bridge');
    const br = link(ns1, 'vtb100');
    t.equal(br?.linkinfo?.info_kind, 'bridge');
    t.equal(br?.linkinfo?.info_data.ageing_time, 12000, 'bridge ageing_time = fdb.ageing (centiseconds)');
    for (const p of ['vm11', 'vm12', 'vtap1']) t.equal(link(ns1, p)?.master, 'vtb100', `${p} enslaved`);
    t.equal(link(ns1, 'vtap1')?.linkinfo?.info_kind, 'tun', 'tap port created as a TAP device');
    t.same(floodList(ns1), [ul2], 'flood list = networks[].remotes');
    t.same(floodList(ns2), [ul1], 'hv2 flood list');
    t.same(permanentRemote(ns1, '02:00:00:00:aa:01'), [ul2], 'fdb.static remote entry on the vxlan device');
    t.ok(staticOn(ns1, 'vm12', '02:00:00:00:aa:02'), 'fdb.static port entry on the bridge');
    const st = (await controlRequest(sock1, 'status')).result as { mode: string; plan: string; networks: { vni: number; devices: { vxlan: string; bridge: string } }[] };
    t.equal(st.mode, 'kernel');
    t.match(st.plan, /encap-decap=kernel forwarding-learning=kernel/);
    t.same(st.networks.map((n) => [n.vni, n.devices]), [[VNI, { vxlan: 'vtx100', bridge: 'vtb100' }]]);
  });

  t.test('ping over the kernel overlay; fdb show and stats through the CLI', async (t) => {
    for (const [a, b] of [['vm11', 'vm21'], ['vm22', 'vm12']]) {
      const r = await lab.ping(a, b, 3, 2000);
      t.equal(r.received, r.sent, `${a} -> ${b}: ${r.received}/${r.sent}`);
    }
    const entries = fdbShowCli(sock1);
    const by = (mac: string) => entries.find((e) => e.mac === mac && e.vni === VNI);
    for (const vm of ['vm21', 'vm22']) t.match(by(lab.vm(vm).mac), { port: null, remote: ul2, static: false }, `${vm} learned behind ${ul2}`);
    for (const vm of ['vm11', 'vm12']) t.match(by(lab.vm(vm).mac), { port: vm, remote: null, static: false }, `${vm} learned on its port`);
    t.match(by('02:00:00:00:aa:01'), { remote: ul2, port: null, static: true, ageSeconds: 0 });
    t.match(by('02:00:00:00:aa:02'), { remote: null, port: 'vm12', static: true });
    t.notOk(entries.some((e) => e.mac === '00:00:00:00:00:00'), 'flood list not shown as entries');
    const r = cli('stats', '--json', '--socket', sock1);
    t.equal(r.status, 0, 'vtepd stats');
    const s = JSON.parse(r.stdout) as StatsSnapshot;
    t.same(s.offload, KERNEL, 'stats name the plan');
    t.same(s.stages, [], 'no vtepd stages');
    const vx = s.ports.find((p) => p.interface === 'vtx100');
    t.ok(vx && vx.txPackets > 0 && vx.rxPackets > 0, `vxlan device moved frames (rx ${vx?.rxPackets}, tx ${vx?.txPackets})`);
    t.ok(s.ports.find((p) => p.name === 'vm11')!.txPackets > 0, 'bridge port counters');
    t.equal(s.networks[0].fdbEntries, fdbShowCli(sock1).length, 'network fdbEntries = fdb show');
    t.equal(cli('ports', '--socket', sock1).status, 0, 'vtepd ports prints');
  });

  t.test('fdb add / del / flush are mirrored into the kernel', async (t) => {
    // The pings above leave hv2's VMs a neighbour entry that they re-confirm with a unicast ARP
    // probe about 5 s later: crossing vtx100, that probe would re-learn the very entry deleted
    // below. Permanent entries cancel the probe, so only this subtest's own traffic is learned.
    for (const [from, to] of [['vm21', 'vm11'], ['vm22', 'vm12']] as const) {
      execFileSync('ip', ['-n', lab.vm(from).ns, 'neigh', 'replace', lab.vm(to).ip4, 'lladdr', lab.vm(to).mac, 'dev', 'eth0', 'nud', 'permanent']);
    }
    const s = ['--socket', sock1, '--vni', String(VNI)];
    t.equal(cli('fdb', 'add', ...s, '--mac', '02:00:00:00:bb:01', '--remote', ul2).status, 0);
    t.same(permanentRemote(ns1, '02:00:00:00:bb:01'), [ul2], 'remote entry added on the vxlan device');
    t.equal(cli('fdb', 'add', ...s, '--mac', '02:00:00:00:bb:02', '--port', 'vm11').status, 0);
    t.ok(staticOn(ns1, 'vm11', '02:00:00:00:bb:02'), 'port entry added on the bridge');
    const bad = cli('fdb', 'add', ...s, '--mac', '02:00:00:00:bb:03', '--remote', '192.0.2.99');
    t.not(bad.status, 0, 'a remote that is not one of the network is refused');
    t.match(bad.stderr, /192\.0\.2\.99 is not a remote VTEP of VNI 100/);
    t.equal(cli('fdb', 'del', ...s, '--mac', '02:00:00:00:bb:01').status, 0);
    t.same(permanentRemote(ns1, '02:00:00:00:bb:01'), [], 'remote entry deleted');
    t.equal(cli('fdb', 'del', ...s, '--mac', '02:00:00:00:bb:02').status, 0);
    t.notOk(staticOn(ns1, 'vm11', '02:00:00:00:bb:02'), 'port entry deleted');
    // A learned entry: deleted in the kernel.
    const vm21 = lab.vm('vm21').mac;
    t.ok(fdb(ns1, 'dev', 'vtx100').some((r) => r.mac === vm21 && r.dst === ul2), 'vm21 learned on vtx100');
    t.equal(cli('fdb', 'del', ...s, '--mac', vm21).status, 0);
    t.notOk(fdb(ns1, 'dev', 'vtx100').some((r) => r.mac === vm21 && r.dst !== undefined), 'learned entry deleted from the vxlan device');
    t.match(cli('fdb', 'del', ...s, '--mac', '02:00:00:00:cc:cc').stderr, /no FDB entry for 02:00:00:00:cc:cc in VNI 100/);
    // Flush: learned entries behind hv2 go, static ones stay.
    const vm22 = lab.vm('vm22').mac;
    t.ok(fdb(ns1, 'dev', 'vtx100').some((r) => r.mac === vm22 && r.dst === ul2), 'vm22 learned on vtx100');
    const flushedAt = Date.now();
    const fl = cli('fdb', 'flush', '--socket', sock1, '--remote', ul2);
    t.equal(fl.status, 0);
    t.match(fl.stdout, /flushed [1-9]\d* entr/);
    // A VM's late frame (a neighbour probe) may be learned again right after the flush: an entry
    // the kernel updated since the flush is a new one, not one the flush left behind.
    const since = (Date.now() - flushedAt) / 1000 + 1;
    const stats = JSON.parse(execFileSync('bridge', ['-n', ns1, '-s', '-j', 'fdb', 'show', 'dev', 'vtx100'], { encoding: 'utf8' }) || '[]') as (FdbRow & { updated?: number })[];
    t.same(stats.filter((r) => r.dst === ul2 && r.state !== 'permanent' && r.mac !== '00:00:00:00:00:00' && (r.updated ?? Infinity) > since), [], 'no learned entry behind hv2 left from before the flush');
    t.same(permanentRemote(ns1, '02:00:00:00:aa:01'), [ul2], 'static entry kept');
    const again = await lab.ping('vm11', 'vm21', 3, 2000);
    t.equal(again.received, again.sent, 'traffic relearns after the flush');
  });

  t.test('SIGHUP: changed flood list, a network added and removed, runtime entries kept', async (t) => {
    const reloads = (): number => readFileSync(d1.logFile, 'utf8').split('\n').filter((l) => l.includes('"event":"reloaded"')).length;
    t.equal(cli('fdb', 'add', '--socket', sock1, '--vni', String(VNI), '--mac', '02:00:00:00:bb:04', '--remote', ul2).status, 0);
    const c = structuredClone(configs[0]) as any;
    c.networks[0].remotes = [ul2, '192.0.2.77'];
    c.networks.push({ vni: 200, type: 'vxlan', remotes: [ul2] });
    writeFileSync(d1.configFile, JSON.stringify(c));
    d1.child.kill('SIGHUP');
    await until('first reload done', () => reloads() === 1);
    t.same(floodList(ns1), [ul2, '192.0.2.77'].sort(), 'flood list re-synced');
    t.same(floodList(ns1, 'vtx200'), [ul2], 'new network programmed');
    t.equal(link(ns1, 'vtx200')?.master, 'vtb200');
    t.same(permanentRemote(ns1, '02:00:00:00:bb:04'), [ul2], 'runtime static entry survived the reload');
    t.same(permanentRemote(ns1, '02:00:00:00:aa:01'), [ul2], 'config static entry still there');

    writeFileSync(d1.configFile, JSON.stringify(configs[0]));
    d1.child.kill('SIGHUP');
    await until('second reload done', () => reloads() === 2);
    t.equal(link(ns1, 'vtx200'), undefined, 'removed network: vxlan device destroyed');
    t.equal(link(ns1, 'vtb200'), undefined, 'removed network: bridge destroyed');
    t.same(floodList(ns1), [ul2], 'flood list back to one remote');
    t.equal(link(ns1, 'vm11')?.master, 'vtb100', 'unchanged network kept its devices and ports');

    // A config the kernel cannot carry out is refused as a whole; the running one stays.
    const bad = structuredClone(configs[0]) as any;
    bad.ports.push({ name: 'ghost', interface: 'nope1', backend: 'afpacket' });
    bad.networks.push({ vni: 300, type: 'vxlan', ports: ['ghost'], remotes: [ul2] });
    bad.networks[0].remotes = [ul2, '192.0.2.88'];
    writeFileSync(d1.configFile, JSON.stringify(bad));
    const failed = (): number => readFileSync(d1.logFile, 'utf8').split('\n').filter((l) => l.includes('"event":"reload-failed"')).length;
    d1.child.kill('SIGHUP');
    await until('reload refused', () => failed() === 1);
    t.match(readFileSync(d1.logFile, 'utf8'), /ports\[3\] \(ghost\)\.interface: nope1 does not exist on this host/, 'the refusal says why');
    t.equal(link(ns1, 'vtx300'), undefined, 'nothing of the refused config was built');
    t.same(floodList(ns1), [ul2], 'running flood list unchanged');
    writeFileSync(d1.configFile, JSON.stringify(configs[0]));

    const r = await lab.ping('vm12', 'vm22', 3, 2000);
    t.equal(r.received, r.sent, 'overlay still forwards after the reloads');
  });

  t.test('the watch repairs entries changed behind vtepd', async (t) => {
    execFileSync('bridge', ['-n', ns1, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vtx100', 'dst', ul2, 'self']);
    execFileSync('bridge', ['-n', ns1, 'fdb', 'del', '02:00:00:00:aa:02', 'dev', 'vm12', 'master']);
    execFileSync('bridge', ['-n', ns1, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vtx100', 'dst', '192.0.2.66', 'self', 'permanent']);
    t.same(floodList(ns1), ['192.0.2.66'], 'flood list changed by hand');
    await until('flood list and port entry repaired', () => floodList(ns1).join() === ul2 && staticOn(ns1, 'vm12', '02:00:00:00:aa:02'));
    t.pass('repaired');
    execFileSync('ip', ['-n', ns1, 'link', 'set', 'vm11', 'nomaster']);
    await until('vm11 back in the bridge', () => link(ns1, 'vm11')?.master === 'vtb100');
    t.pass('a port taken out of the bridge is enslaved again');
    execFileSync('ip', ['-n', ns1, 'link', 'del', 'vtb100']);
    await until('bridge rebuilt and programmed', () => link(ns1, 'vtb100') !== undefined && link(ns1, 'vtx100')?.master === 'vtb100' &&
      floodList(ns1).join() === ul2 && staticOn(ns1, 'vm12', '02:00:00:00:aa:02') && link(ns1, 'vtx100')?.linkinfo?.info_data.ageing === 120);
    t.pass('a deleted bridge is rebuilt with its vxlan device, ports, entries and ageing');
    const r = await lab.ping('vm11', 'vm21', 3, 2000);
    t.equal(r.received, r.sent, 'forwarding again after the rebuild');
    const repairs = readFileSync(d1.logFile, 'utf8').split('\n').filter((l) => l.includes('"event":"repair"')).map((l) => JSON.parse(l) as { added: string[]; removed: string[] });
    t.ok(repairs.some((r) => r.added.includes(`00:00:00:00:00:00 dst ${ul2}`) && r.removed.includes('00:00:00:00:00:00 dst 192.0.2.66')), 'the repair is logged with what changed');
  });

  t.test('SIGTERM removes the devices and leaves the ports', async (t) => {
    const stopped = await lab.stopDaemons(10000);
    for (const s of stopped) {
      t.equal(s.code, 0, `hv${s.hv} exit 0`);
      t.same(s.final?.counters.offload, KERNEL, `hv${s.hv} logged its final counters`);
    }
    for (const ns of [ns1, ns2]) {
      t.equal(link(ns, 'vtx100'), undefined, 'vxlan device removed');
      t.equal(link(ns, 'vtb100'), undefined, 'bridge removed');
    }
    t.equal(link(ns1, 'vtap1'), undefined, 'the TAP device vtepd created is removed');
    for (const p of ['vm11', 'vm12']) {
      const l = link(ns1, p);
      t.ok(l, `${p} still exists`);
      t.equal(l?.master, undefined, `${p} released`);
    }
  });
});

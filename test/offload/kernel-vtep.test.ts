import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';
import { IprouteError } from '../../src/offload/iproute.js';
import { diffFdb } from '../../src/offload/fdb-sync.js';

const NS = `vtkv-${process.pid}`;
const ipj = (...a: string[]) => JSON.parse(execFileSync('ip', ['-n', NS, '-j', ...a], { encoding: 'utf8' }) || '[]');
const fdb = (dev: string) =>
  (JSON.parse(execFileSync('bridge', ['-n', NS, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]') as { mac: string; dst?: string; state: string; master?: string; flags: string[] }[]);
const remoteSet = () => fdb('vtx100').filter((e) => e.dst && e.state === 'permanent').map((e) => `${e.mac}>${e.dst}`).sort();
const localSet = () => fdb('p0').filter((e) => e.state === 'static').map((e) => `${e.mac}@${e.master}`).sort();

t.before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
});
t.teardown(() => void spawnSync('ip', ['netns', 'del', NS]));

t.test('fdb diff on exact sets', async (t) => {
  const d = diffFdb(
    [{ mac: '00:00:00:00:00:00', dst: '10.0.0.2' }, { mac: '02:00:00:00:00:0A', port: 'p0' }],
    [{ mac: '00:00:00:00:00:00', dst: '10.0.0.3' }, { mac: '02:00:00:00:00:0a', port: 'p0' }],
  );
  t.same(d, { add: [{ mac: '00:00:00:00:00:00', dst: '10.0.0.2' }], del: [{ mac: '00:00:00:00:00:00', dst: '10.0.0.3' }] });
  t.throws(() => diffFdb([{ mac: '02:00:00:00:00:01' }], []), /exactly one of dst/);
  t.throws(() => diffFdb([{ mac: 'zz', dst: '1.2.3.4' }], []), /bad MAC/);
});

t.test('kernel VTEP: create, program, change, remove — checked with ip -j / bridge -j', async (t) => {
  const v = new KernelVtep({ netns: NS, vni: 100, local: '10.9.0.1', dstPort: 4789, ports: ['p0'], learning: true, udpChecksum: false, ttl: 16 });
  t.teardown(() => v.destroy().catch(() => undefined));
  await v.create();

  const [vx] = ipj('-d', 'link', 'show', 'dev', 'vtx100');
  t.equal(vx.linkinfo.info_kind, 'vxlan');
  t.equal(vx.linkinfo.info_data.id, 100);
  t.equal(vx.linkinfo.info_data.port, 4789);
  t.equal(vx.linkinfo.info_data.local, '10.9.0.1');
  t.equal(vx.linkinfo.info_data.ttl, 16);
  t.equal(vx.linkinfo.info_data.udp_csum, false);
  t.equal(vx.linkinfo.info_data.learning, true);
  t.equal(vx.master, 'vtb100');
  t.ok(vx.flags.includes('UP'));
  const [br] = ipj('-d', 'link', 'show', 'dev', 'vtb100');
  t.equal(br.linkinfo.info_kind, 'bridge');
  t.equal(ipj('link', 'show', 'dev', 'p0')[0].master, 'vtb100', 'local port enslaved');

  // Desired set A.
  let d = await v.sync({
    floodRemotes: ['10.9.0.2', '10.9.0.3'],
    entries: [{ mac: '02:00:00:00:00:05', dst: '10.9.0.2' }, { mac: '02:00:00:00:00:06', port: 'p0' }],
  });
  t.equal(d.add.length, 4);
  t.equal(d.del.length, 0);
  t.same(remoteSet(), ['00:00:00:00:00:00>10.9.0.2', '00:00:00:00:00:00>10.9.0.3', '02:00:00:00:00:05>10.9.0.2']);
  t.same(localSet(), ['02:00:00:00:00:06@vtb100']);

  // An entry vtepd does not manage (dynamic, as if learned) must survive syncs.
  execFileSync('bridge', ['-n', NS, 'fdb', 'add', '02:00:00:00:00:99', 'dev', 'vtx100', 'dst', '10.9.0.9', 'dynamic']);

  // Same set again: nothing to do.
  d = await v.sync({
    floodRemotes: ['10.9.0.3', '10.9.0.2'],
    entries: [{ mac: '02:00:00:00:00:06', port: 'p0' }, { mac: '02:00:00:00:00:05', dst: '10.9.0.2' }],
  });
  t.same(d, { add: [], del: [] }, 'idempotent');

  // Desired set B: one flood remote replaced, a MAC moved to another VTEP, a local MAC replaced.
  d = await v.sync({
    floodRemotes: ['10.9.0.3', '10.9.0.4'],
    entries: [{ mac: '02:00:00:00:00:05', dst: '10.9.0.4' }, { mac: '02:00:00:00:00:07', port: 'p0' }],
  });
  t.same(d.del.map((e) => e.mac + (e.dst ?? e.port)).sort(), ['00:00:00:00:00:0010.9.0.2', '02:00:00:00:00:0510.9.0.2', '02:00:00:00:00:06p0']);
  t.same(remoteSet(), ['00:00:00:00:00:00>10.9.0.3', '00:00:00:00:00:00>10.9.0.4', '02:00:00:00:00:05>10.9.0.4']);
  t.same(localSet(), ['02:00:00:00:00:07@vtb100']);
  t.ok(fdb('vtx100').some((e) => e.mac === '02:00:00:00:00:99'), 'unmanaged entry left alone');
  const got = await v.readFdb();
  t.same(got.remote.map((e) => `${e.mac}>${e.dst}`).sort(), remoteSet(), 'readFdb agrees with bridge -j fdb show');
  t.same(got.local, [{ mac: '02:00:00:00:00:07', port: 'p0' }]);
  const c = await v.counters();
  t.ok(c.txPackets >= 0 && c.rxPackets >= 0, 'kernel counters readable');

  // iproute2 errors surface with the command and the kernel's message.
  await t.rejects(v.sync({ floodRemotes: ['not-an-address'], entries: [] }), { name: 'IprouteError', message: /`bridge -n vtkv-\d+ fdb append 00:00:00:00:00:00 dev vtx100 dst not-an-address self permanent` failed: .+/ });
  await t.rejects(v.sync({ floodRemotes: [], entries: [{ mac: '02:00:00:00:00:01', port: 'eth9' }] }), /port eth9 is not a port of vtb100/);
  const dup = new KernelVtep({ netns: NS, vni: 100, local: '10.9.0.1', ports: [] });
  await t.rejects(dup.create(), /vtx100 already exists; vtepd does not take over devices it did not create/);

  await v.destroy();
  t.same(ipj('link', 'show', 'type', 'vxlan'), [], 'vxlan device gone');
  t.same(ipj('link', 'show', 'type', 'bridge'), [], 'bridge gone');
  t.equal(ipj('link', 'show', 'dev', 'p0')[0].master, undefined, 'port released, still there');
  t.same(remoteSetSafe(), null);
});

function remoteSetSafe(): string[] | null {
  return spawnSync('bridge', ['-n', NS, 'fdb', 'show', 'dev', 'vtx100']).status === 0 ? remoteSet() : null;
}

t.test('a failed create undoes what it made', async (t) => {
  const v = new KernelVtep({ netns: NS, vni: 200, local: '10.9.0.1', ports: ['no-such-port'] });
  const err = await v.create().then(() => null, (e: unknown) => e);
  t.type(err, IprouteError);
  t.match((err as Error).message, /ip -n vtkv-\d+ link set no-such-port master vtb200` failed: .*(Cannot find device|does not exist)/);
  t.same(ipj('link', 'show', 'type', 'bridge'), [], 'bridge removed again');
  t.same(ipj('link', 'show', 'type', 'vxlan'), [], 'vxlan removed again');
  t.throws(() => new KernelVtep({ vni: 1 << 24, local: '1.1.1.1', ports: [] }), /VNI must be/);
});

const ECHO_SERVER = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.168.77.2", 9999)); s.settimeout(20)
print("ready", flush=True)
for _ in range(3):
    d, a = s.recvfrom(2048); s.sendto(d, a)`;
const ECHO_CLIENT = `import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
ok = 0
for i in range(3):
    for attempt in range(5):
        try:
            s.sendto(b"vtepd-%d" % i, ("192.168.77.2", 9999)); d, _ = s.recvfrom(2048)
            if d == b"vtepd-%d" % i: ok += 1; break
        except socket.timeout: pass
print("echo %d/3" % ok)`;

t.test('two kernel VTEPs built by KernelVtep carry traffic over the underlay (ping through VXLAN)', async (t) => {
  const A = `vtkva-${process.pid}`;
  const B = `vtkvb-${process.pid}`;
  const sh = (ns: string, ...a: string[]) => execFileSync('ip', ['-n', ns, ...a]);
  for (const ns of [A, B]) {
    execFileSync('ip', ['netns', 'add', ns]);
    t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  }
  // Underlay: uA (A) <-> uB (B).
  sh(A, 'link', 'add', 'uA', 'type', 'veth', 'peer', 'name', 'uB', 'netns', B);
  sh(A, 'addr', 'add', '10.77.0.1/24', 'dev', 'uA');
  sh(B, 'addr', 'add', '10.77.0.2/24', 'dev', 'uB');
  sh(A, 'link', 'set', 'uA', 'up');
  sh(B, 'link', 'set', 'uB', 'up');
  // Overlay hosts: hX carries the address, pX is the bridge port.
  const vteps: KernelVtep[] = [];
  for (const [ns, x, local, remote, host] of [[A, 'a', '10.77.0.1', '10.77.0.2', '192.168.77.1'], [B, 'b', '10.77.0.2', '10.77.0.1', '192.168.77.2']]) {
    sh(ns, 'link', 'add', `h${x}`, 'type', 'veth', 'peer', 'name', `p${x}`);
    sh(ns, 'addr', 'add', `${host}/24`, 'dev', `h${x}`);
    sh(ns, 'link', 'set', `h${x}`, 'up');
    const v = new KernelVtep({ netns: ns, vni: 4242, local, dstPort: 4789, underlayDev: `u${x.toUpperCase()}`, ports: [`p${x}`], mtu: 1450 });
    t.teardown(() => v.destroy().catch(() => undefined));
    await v.create();
    await v.sync({ floodRemotes: [remote], entries: [] });
    vteps.push(v);
  }
  // UDP echo (no ping binary here): server in B, client in A, 3 round trips.
  const server = spawn('ip', ['netns', 'exec', B, '/usr/bin/python3', '-c', ECHO_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void server.kill());
  await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  const client = spawnSync('ip', ['netns', 'exec', A, '/usr/bin/python3', '-c', ECHO_CLIENT], { encoding: 'utf8', timeout: 20000 });
  t.equal(client.stdout.trim(), 'echo 3/3', `UDP echo over VXLAN (${client.stderr.trim()})`);
  const c = await vteps[0].counters();
  t.ok(c.txPackets >= 4 && c.rxPackets >= 4, `vxlan device moved the frames (tx ${c.txPackets}, rx ${c.rxPackets})`);
  // Kernel learning: A learned hb's MAC behind VTEP 10.77.0.2.
  const hbMac = JSON.parse(execFileSync('ip', ['-n', B, '-j', 'link', 'show', 'dev', 'hb'], { encoding: 'utf8' }))[0].address;
  const learned = (JSON.parse(execFileSync('bridge', ['-n', A, '-j', 'fdb', 'show', 'dev', 'vtx4242'], { encoding: 'utf8' })) as { mac: string; dst?: string; state: string }[]).find((e) => e.mac === hbMac && e.dst !== undefined);
  t.equal(learned?.dst, '10.77.0.2', 'remote MAC learned by the kernel behind the remote VTEP');
  t.not(learned?.state, 'permanent', 'learned, not one of ours');
  t.same((await vteps[0].readFdb()).remote, [{ mac: '00:00:00:00:00:00', dst: '10.77.0.2' }], 'readFdb lists only the managed entries');
});

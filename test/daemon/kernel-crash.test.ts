/**
 * Kernel mode after a crash (issue #15 item 8), on the two-hypervisor
 * namespace topology: after `kill -9` the kernel keeps forwarding on the
 * devices vtepd left; the next `vtepd run` recognises them by their ifalias
 * (owner pid + start time) and adopts them, or rebuilds them when the config
 * changed; a device that is not vtepd's, or that belongs to a running vtepd,
 * is refused with exit 2 and the `ip link del` to run. FDB operations queued
 * when SIGTERM arrives never race the teardown, and the requests of a client
 * that has gone stop being carried out.
 */
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { OverlayLab, sleep, type DaemonProc } from '../../src/lab/harness.js';
import { daemonConfig } from '../../src/lab/topology.js';
import { controlRequest } from '../../src/control/control-client.js';
import { MAIN, daemonTestSkip, closeOnExit } from './support.js';

const KERNEL = { 'encap-decap': 'kernel', 'forwarding-learning': 'kernel', checksum: 'kernel', segmentation: 'kernel' } as const;
const skip = daemonTestSkip();

interface Link { ifname: string; master?: string; ifalias?: string; linkinfo?: { info_kind: string; info_data: Record<string, unknown> } }

t.test('kernel mode after kill -9', { skip, timeout: 300_000 }, async (t) => {
  const lab = new OverlayLab(`vkc${process.pid}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [ns1] = lab.topo.hvNs;
  const ul2 = lab.topo.underlay[1];
  const link = (dev: string): Link | undefined => {
    const r = spawnSync('ip', ['-n', ns1, '-d', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
    return r.status === 0 ? (JSON.parse(r.stdout) as Link[])[0] : undefined;
  };
  const permanent = (): number => (JSON.parse(execFileSync('bridge', ['-n', ns1, '-j', 'fdb', 'show', 'dev', 'vtx100'], { encoding: 'utf8' }) || '[]') as { state?: string; mac: string }[])
    .filter((r) => r.state === 'permanent' && r.mac !== '00:00:00:00:00:00').length;
  const configs = ([1, 2] as const).map((hv) => daemonConfig(lab.topo, hv, { type: 'vxlan', socket: join(lab.dir, `hv${hv}.sock`), offload: { ...KERNEL } }));
  let runs = 0;
  const run = (hv: 1 | 2, cfg: Record<string, unknown>): string => {
    const f = join(lab.dir, `hv${hv}-${runs++}.json`);
    writeFileSync(f, JSON.stringify(cfg));
    return f;
  };
  const start = async (hv: 1 | 2, cfg: Record<string, unknown>): Promise<DaemonProc> => {
    const configFile = run(hv, cfg);
    const logFile = `${configFile}.log`;
    const out = createWriteStream(logFile);
    const child = spawn('ip', ['netns', 'exec', lab.topo.hvNs[hv - 1], process.execPath, MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const d = { hv, child, socket: (cfg.control as { socket: string }).socket, configFile, logFile, exit: new Promise<number | null>((r) => child.once('exit', (c) => r(c))) };
    lab.daemons.push(d);
    for (const deadline = Date.now() + 20000; ;) {
      if (child.exitCode !== null) throw new Error(`vtepd hv${hv} exited (${child.exitCode}): ${lab.logTail(d)}`);
      if (await controlRequest(d.socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) return d;
      if (Date.now() > deadline) throw new Error(`vtepd hv${hv} did not come up: ${lab.logTail(d)}`);
      await sleep(100);
    }
  };
  const refused = (cfg: Record<string, unknown>): { status: number | null; out: string } => {
    const r = spawnSync('ip', ['netns', 'exec', ns1, process.execPath, MAIN, 'run', '--config', run(1, cfg)], { encoding: 'utf8', timeout: 30000 });
    return { status: r.status, out: r.stdout + r.stderr };
  };
  const logEvents = (d: DaemonProc, event: string): Record<string, unknown>[] =>
    readFileSync(d.logFile, 'utf8').split('\n').filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);

  let d1 = await start(1, configs[0]);
  await start(2, configs[1]);
  t.equal((await lab.ping('vm11', 'vm21', 3, 2000)).received, 3, 'kernel overlay up');
  t.match(link('vtx100')?.ifalias, new RegExp(`^vtepd pid=${d1.child.pid} start=\\d+ vni=100$`), 'the devices name their owner');

  d1.child.kill('SIGKILL');
  await d1.exit;
  lab.daemons = lab.daemons.filter((d) => d !== d1);
  t.ok(link('vtx100') && link('vtb100'), 'kill -9 leaves the devices');
  t.equal((await lab.ping('vm11', 'vm21', 3, 2000)).received, 3, 'and the kernel keeps forwarding without vtepd');

  d1 = await start(1, configs[0]);
  t.match(logEvents(d1, 'network-created'), [{ vni: 100, outcome: 'adopted' }], 'the restart adopts its leftovers');
  t.match(link('vtx100')?.ifalias, new RegExp(`^vtepd pid=${d1.child.pid} `), 'now owned by the new process');
  t.equal(link('vm11')?.master, 'vtb100');
  t.equal((await lab.ping('vm11', 'vm21', 3, 2000)).received, 3, 'forwarding after the restart');

  // Another vtepd in the same namespace (its own socket) must not touch a live daemon's devices.
  const other = structuredClone(configs[0]) as Record<string, any>;
  other.control = { socket: join(lab.dir, 'other.sock') };
  const live = refused(other);
  t.equal(live.status, 2, 'a second daemon for the same VNI: exit 2');
  t.match(live.out, new RegExp(`vtx100 belongs to a running vtepd \\(pid ${d1.child.pid}\\)`));

  // A crash, then a changed config: the leftovers are rebuilt to match it.
  d1.child.kill('SIGKILL');
  await d1.exit;
  lab.daemons = lab.daemons.filter((d) => d !== d1);
  const changed = structuredClone(configs[0]) as Record<string, any>;
  changed.underlay.ttl = 32;
  d1 = await start(1, changed);
  t.match(logEvents(d1, 'network-created'), [{ vni: 100, outcome: 'rebuilt' }], 'leftovers that differ from the config are rebuilt');
  t.equal(link('vtx100')?.linkinfo?.info_data.ttl, 32);
  t.equal((await lab.ping('vm11', 'vm21', 3, 2000)).received, 3, 'forwarding after the rebuild');

  // A client that queues many FDB adds and leaves: they stop.
  const c = createConnection(d1.socket);
  c.on('error', () => undefined);
  await new Promise((r) => c.once('connect', r));
  c.write(Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, cmd: 'fdb.add', args: { vni: 100, mac: `02:dd:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, remote: ul2 } })).join('\n') + '\n');
  await sleep(1500);
  c.destroy();
  await sleep(300);
  const atClose = permanent();
  await sleep(3000);
  t.comment(`kernel mode: ${atClose} of 3000 queued adds ran before the client left`);
  t.ok(atClose < 3000, 'not all of them ran');
  t.equal(permanent(), atClose, 'none ran after the client left');

  // SIGTERM with FDB operations queued: they are refused or done, never run against removed devices.
  const q = createConnection(d1.socket);
  q.setEncoding('utf8');
  q.on('error', () => undefined);
  await new Promise((r) => q.once('connect', r));
  q.write(Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i, cmd: 'fdb.add', args: { vni: 100, mac: `02:ee:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, remote: ul2 } })).join('\n') + '\n');
  await sleep(200);
  d1.child.kill('SIGTERM');
  t.equal(await d1.exit, 0, 'exit 0 on SIGTERM with FDB operations queued');
  lab.daemons = lab.daemons.filter((d) => d !== d1);
  const log = readFileSync(d1.logFile, 'utf8');
  t.notMatch(log, /Cannot find device/, 'no FDB operation ran against a removed device');
  t.notMatch(log, /control command failed/, 'no control command failed');
  t.equal(link('vtx100'), undefined, 'devices removed');

  // Devices that are not vtepd's: refused, with the command that frees the name; nothing touched.
  execFileSync('ip', ['-n', ns1, 'link', 'add', 'vtb100', 'type', 'bridge']);
  const foreign = refused(configs[0]);
  t.equal(foreign.status, 2, 'a foreign vtb100: exit 2');
  t.match(foreign.out, /vtb100 already exists and was not made by vtepd; remove it with "ip link del vtb100"/);
  t.equal(link('vtb100')?.ifalias, undefined, 'the foreign device is left as it was');
  execFileSync('ip', ['-n', ns1, 'link', 'set', 'vm11', 'master', 'vtb100']);
  execFileSync('ip', ['-n', ns1, 'link', 'set', 'vtb100', 'name', 'br9']);
  const enslaved = refused(configs[0]);
  t.equal(enslaved.status, 2, 'a port in a foreign bridge: exit 2');
  t.match(enslaved.out, /interface vm11 is already enslaved to br9; vtepd does not take ports from another master \(release it with "ip link set vm11 nomaster"\)/);
  t.equal(link('vm11')?.master, 'br9', 'the port is left where it was');
});

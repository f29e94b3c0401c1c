/**
 * Log lines as a log pipeline reads them: level names, `err` as an object with
 * message and code, an `event` on every line. Checked on the logger itself and
 * on a real userspace daemon (pcap ports, UDP underlay on loopback, no root)
 * driven through its control socket: FDB add and delete are logged, as in
 * kernel mode.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/config-load.js';
import { callDaemon } from '../../src/control/control-client.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { createLogger, eventName } from '../../src/daemon/logger.js';
import { scapyPcap } from '../l2/helpers.js';

type Line = Record<string, unknown> & { level: unknown; event?: unknown; msg?: string; err?: Record<string, unknown> };

function capture(level = 'info'): { lines: Line[]; log: ReturnType<typeof createLogger> } {
  const lines: Line[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { lines, log: createLogger(level, dest) };
}

t.test('level names, err objects, an event on every line', async (t) => {
  const { lines, log } = capture('debug');
  log.info({ event: 'started', mode: 'userspace' }, 'vtepd started');
  log.warn('control.socket changes take effect on restart');
  const e = Object.assign(new Error('connect ENOENT /run/x.sock'), { code: 'ENOENT' });
  log.error({ err: e, port: 'vm1' }, 'port not closed');
  log.error({ event: 'reload-failed', err: 'networks[0].vni: must be integer' }, 'reload failed: keeping the running config');
  log.error(e, 'metrics endpoint failed');
  log.debug({ x: 1 }, 'next-hop MAC changed (rebuilding)');
  t.equal(lines.length, 6);
  t.same(lines.map((l) => l.level), ['info', 'warn', 'error', 'error', 'error', 'debug'], 'level names, not numbers');
  t.same(lines.map((l) => l.event), ['started', 'control-socket-changes-take-effect-on-restart', 'port-not-closed', 'reload-failed', 'metrics-endpoint-failed', 'next-hop-mac-changed'],
    'an explicit event is kept; otherwise one is made from the message');
  t.same(lines[2].err, { message: 'connect ENOENT /run/x.sock', code: 'ENOENT' }, 'Error → {message, code}, no stack');
  t.same(lines[3].err, { message: 'networks[0].vni: must be integer' }, 'a message string → {message}');
  t.same(lines[4].err, { message: 'connect ENOENT /run/x.sock', code: 'ENOENT' });
  t.equal(lines[2].port, 'vm1', 'other fields kept');
  t.equal(lines[0].name, 'vtepd');
  t.equal(eventName('!!!'), 'log');
});

t.test('userspace daemon: FDB add/delete over the control socket are logged; every line has an event', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = scapyPcap(dir, 'in', `plain('02:00:00:00:0a:01', '02:00:00:00:0b:01', 1.0)`);
  const cfg = validateConfig({
    underlay: { interface: 'lo', address: '127.0.0.1', transport: 'udp' },
    ports: [{ name: 'in', backend: 'pcap', readFile: pcap }, { name: 'out', backend: 'pcap', writeFile: join(dir, 'out.pcap') }],
    networks: [{ vni: 100, name: 'blue', type: 'vxlan', udpPort: 40000 + ((process.pid + 7) % 20000), ports: ['in', 'out'], remotes: ['127.0.0.2'] }],
    control: { socket: join(dir, 'vtepd.sock') },
    metrics: { enabled: true, listen: '127.0.0.1:0' },
  }, 'test');
  const { lines, log } = capture();
  const d = createDaemon({ configFile: join(dir, 'none.yaml'), cfg, logger: log });
  await d.start();
  const sock = cfg.control.socket;

  // The same daemon's metrics endpoint: the cost meter of the data path, process defaults, the new gauges.
  const started = lines.find((l) => l.event === 'started') as { metrics: string } | undefined;
  t.match(started?.metrics, /^127\.0\.0\.1:\d+$/, 'metrics endpoint bound');
  for (let k = 0; k < 50; k++) {
    const text = await (await fetch(`http://${started!.metrics}/metrics`)).text();
    if (/vtepd_cost_frames_total\{counter="in-frames"\} [1-9]/.test(text) || k === 49) {
      t.match(text, /^vtepd_cost_frames_total\{counter="in-frames"\} [1-9]\d*$/m, 'cost meter wired: frames the data path read');
      t.match(text, /^vtepd_cost_stage_frames_total\{stage="rx"\} [1-9]/m);
      t.match(text, /^process_start_time_seconds \d+/m);
      t.match(text, /^vtepd_build_info\{version="[^"]+",node="v[^"]+",mode="userspace"\} 1$/m);
      t.match(text, /^vtepd_fdb_capacity \d+$/m);
      t.match(text, /^vtepd_port_up\{port="in",interface="[^"]*",role="local",network="blue"\} 1$/m, 'a pcap port is up, in network blue');
      t.match(text, /^vtepd_stage_seconds_total\{stage="rx"\} [0-9.e-]+$/m);
      t.notMatch(text, /vtepd_uptime_seconds/);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await callDaemon(sock, 'fdb.add', { vni: 100, mac: '02:00:00:00:0C:01', remote: '127.0.0.2' });
  await callDaemon(sock, 'fdb.add', { vni: 100, mac: '02:00:00:00:0c:02', port: 'out' });
  await callDaemon(sock, 'fdb.del', { vni: 100, mac: '02:00:00:00:0c:01' });
  await t.rejects(callDaemon(sock, 'fdb.del', { vni: 100, mac: '02:00:00:00:0c:09' }), /no FDB entry/);
  await d.stop('test');
  t.equal(await d.done, 0);

  t.match(lines.filter((l) => l.event === 'fdb-add'), [
    { level: 'info', vni: 100, mac: '02:00:00:00:0c:01', remote: '127.0.0.2' },
    { level: 'info', vni: 100, mac: '02:00:00:00:0c:02', port: 'out' },
  ], 'fdb add logged with the entry');
  t.match(lines.filter((l) => l.event === 'fdb-del'), [{ level: 'info', vni: 100, mac: '02:00:00:00:0c:01' }], 'fdb del logged');
  t.notOk(lines.some((l) => l.level === 'error'), 'a refused request is the client\'s error, not logged as a daemon error');
  t.ok(lines.every((l) => typeof l.event === 'string' && typeof l.level === 'string'), `every line has an event and a level name (${lines.map((l) => l.event).join(', ')})`);
  t.ok(lines.some((l) => l.event === 'started') && lines.some((l) => l.event === 'stopped'));
});

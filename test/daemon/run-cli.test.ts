import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/vtepd.yaml', import.meta.url));
const cli = (args: string[], pre: string[] = []) => {
  const cmd = pre.length ? pre[0] : process.execPath;
  const argv = pre.length ? [...pre.slice(1), process.execPath, MAIN, ...args] : [MAIN, ...args];
  return spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30000 });
};

t.test('run --check prints the normalised config', (t) => {
  const r = cli(['run', '--config', EXAMPLE, '--check']);
  t.equal(r.status, 0, r.stderr);
  const cfg = JSON.parse(r.stdout);
  t.equal(cfg.networks[0].udpPort, 4789);
  t.equal(cfg.control.socket, '/run/vtepd/vtepd.sock');
  t.equal(cfg.underlay.transport, 'afpacket');
  t.end();
});

t.test('a bad config is refused with key paths, exit 2, no stack trace', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'underlay: {interface: ul0, address: 192.0.2.1}\nnetworks:\n  - {vni: 16777216, type: vxlan}\n  - {vni: 5, type: vxlan, ports: [nope]}\n');
  const r = cli(['run', '--config', f]);
  t.equal(r.status, 2);
  t.match(r.stderr, /networks\[0\]\.vni: must be <= 16777215/);
  t.notMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  const r2 = cli(['run', '--config', join(dir, 'missing.yaml')]);
  t.equal(r2.status, 2);
  t.match(r2.stderr, /cannot read file: no such file/);
  t.end();
});

t.test('without root or capabilities, run says what it needs', { skip: process.getuid?.() !== 0 ? 'needs root to drop to nobody' : spawnSync('setpriv', ['--version']).status !== 0 ? 'no setpriv' : false }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const f = join(dir, 'ok.yaml');
  writeFileSync(f, 'underlay: {interface: ul0, address: 192.0.2.1}\nnetworks: [{vni: 5, type: vxlan, remotes: [192.0.2.2]}]\n');
  chmodSync(f, 0o644);
  const r = cli(['run', '--config', f], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
  t.equal(r.status, 77, r.stderr);
  t.match(r.stderr, /vtepd run needs root or the capabilities CAP_NET_RAW and CAP_NET_ADMIN \(missing: CAP_NET_ADMIN, CAP_NET_RAW\)/);
  t.match(r.stderr, /--ambient-caps=\+net_raw,\+net_admin vtepd run/);
  t.end();
});

t.test('client commands say clearly when no daemon runs', (t) => {
  for (const args of [['stats'], ['ports', '--json'], ['fdb', 'show'], ['fdb', 'flush', '--vni', '5']]) {
    const r = cli([...args, '--socket', '/nonexistent/vtepd.sock']);
    t.equal(r.status, 1, args.join(' '));
    t.match(r.stderr, /^vtepd: no daemon is listening on \/nonexistent\/vtepd\.sock \(is vtepd running\?\)/);
  }
  const bad = cli(['fdb', 'add', '--vni', '99999999', '--mac', '02:00:00:00:00:01', '--port', 'x']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /option '--vni <n>' argument '99999999' is invalid\. must be an integer 0\.\.16777215/);
  t.end();
});

t.test('the advice works: as nobody with ambient CAP_NET_RAW + CAP_NET_ADMIN (setpriv), vtepd run starts and stops cleanly', {
  skip: process.getuid?.() !== 0 ? 'needs root to make the namespace and drop to nobody' : spawnSync('setpriv', ['--version']).status !== 0 ? 'no setpriv' : false,
  timeout: 60000,
}, async (t) => {
  const ns = `vtamb${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-amb-'));
  chmodSync(dir, 0o777);
  t.teardown(() => {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  for (const a of [['netns', 'add', ns], ['-n', ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p'], ['-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'ul0'], ['-n', ns, 'link', 'set', 'ul0', 'up'], ['-n', ns, 'link', 'set', 'ul0p', 'up']]) {
    t.equal(spawnSync('ip', a).status, 0, `ip ${a.join(' ')}`);
  }
  const sock = join(dir, 'vtepd.sock');
  const f = join(dir, 'amb.yaml');
  writeFileSync(f, `underlay: {interface: ul0, address: 192.0.2.1}\nnetworks: [{vni: 5, type: vxlan, remotes: [192.0.2.2]}]\ncontrol: {socket: ${sock}}\nmetrics: {enabled: false}\n`);
  chmodSync(f, 0o644);
  const { spawn } = await import('node:child_process');
  const { controlRequest } = await import('../../src/control/control-client.js');
  const caps = '+net_raw,+net_admin';
  // env -i: tap re-injects its coverage hooks (NODE_OPTIONS) into a spawned child's environment, and
  // nobody may not write the checkout's .tap folder; env execs ip, setpriv and node in one pid.
  const d = spawn('env', ['-i', `PATH=${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, 'ip', 'netns', 'exec', ns, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, process.execPath, MAIN, 'run', '--config', f], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  d.stdout.on('data', (b: Buffer) => { log += b.toString(); });
  d.stderr.on('data', (b: Buffer) => { log += b.toString(); });
  const exited = new Promise<number | null>((r) => d.once('exit', (code) => r(code)));
  let up = false;
  for (let k = 0; k < 100 && !up && d.exitCode === null; k++) {
    up = await controlRequest(sock, 'ping', {}, 1000).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(up, `the daemon runs as nobody with ambient capabilities and answers on its control socket: ${log.slice(-600)}`);
  const status = spawnSync('ps', ['-o', 'user=', '-p', String(d.pid)], { encoding: 'utf8' }).stdout.trim();
  t.match(status, /^(nobody|65534)$/, 'it runs as nobody, not root');
  d.kill('SIGTERM');
  const code = await exited;
  t.equal(code, 0, `SIGTERM: exit 0: ${log.slice(-800)}`);
});

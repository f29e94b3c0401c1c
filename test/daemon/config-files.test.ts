/**
 * What `vtepd run` is pointed at as a config file, when it is not a plain,
 * small, sane file (issue #15 items 4, 5, 9, 10, 12, 14): a FIFO, /dev/zero, a
 * directory, a socket, a huge file, a symlink, a 100k-deep document, YAML
 * syntax errors, static FDB entries that are not unicast, interfaces that are
 * not on this host. Each must be refused quickly with exit code 2 and one
 * clear message; nothing may hang or eat memory. The CLI runs as a child
 * process with a timeout and an address-space limit, so a regression fails
 * the test instead of hanging it or exhausting the machine.
 */
import t from 'tap';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, symlinkSync, mkdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfigText, validateConfig } from '../../src/config/config-load.js';
import { loadConfigOffThread } from '../../src/config/config-worker.js';
import { missingInterfaces } from '../../src/config/host-check.js';
import { MAIN } from './support.js';

const built = existsSync(MAIN);
const needBuild = built ? false : 'run npm run build first (the CLI runs from dist/)';
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

/** `vtepd ARGS` in a child limited to 3 GB of address space and 20 s. */
function cli(args: string[], opts: { unshareNet?: boolean } = {}): { status: number | null; stdout: string; stderr: string; ms: number } {
  const node = [process.execPath, MAIN, ...args];
  const pre = [...(opts.unshareNet ? ['unshare', '--net'] : []), ...(hasPrlimit ? ['prlimit', '--as=3000000000'] : [])];
  const t0 = Date.now();
  const r = pre.length > 0
    ? spawnSync(pre[0], [...pre.slice(1), ...node], { encoding: 'utf8', timeout: 20000 })
    : spawnSync(node[0], node.slice(1), { encoding: 'utf8', timeout: 20000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}

const GOOD = 'underlay: {interface: ul0, address: 192.0.2.1}\nnetworks: [{vni: 5, type: vxlan, remotes: [192.0.2.2]}]\n';

t.test('files that are not regular files are refused at once (run --check)', { skip: needBuild }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfgf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  const sockPath = join(dir, 'sock.yaml');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(sockPath, r));
  t.teardown(() => srv.close());
  mkdirSync(join(dir, 'dir.yaml'));
  const zeroLink = join(dir, 'zero.yaml');
  symlinkSync('/dev/zero', zeroLink);
  const good = join(dir, 'good.yaml');
  writeFileSync(good, GOOD);
  const goodLink = join(dir, 'link.yaml');
  symlinkSync(good, goodLink);

  for (const [what, file, reason] of [
    ['a FIFO (would block in open() until a writer appears)', fifo, /not a regular file \(a FIFO\)/],
    ['/dev/zero (an endless stream)', '/dev/zero', /not a regular file \(a character device\)/],
    ['a symlink to /dev/zero', zeroLink, /not a regular file \(a character device\)/],
    ['a directory', join(dir, 'dir.yaml'), /not a regular file \(a directory\)/],
    ['a Unix socket', sockPath, /not a regular file \(a socket\)/],
  ] as const) {
    const r = cli(['run', '--check', '--config', file]);
    t.equal(r.status, 2, `${what}: exit 2 (got ${r.status}, ${r.ms} ms)`);
    t.match(r.stderr, reason, `${what}: says why`);
    t.ok(r.ms < 10000, `${what}: refused in ${r.ms} ms`);
  }
  const ok = cli(['run', '--check', '--config', goodLink]);
  t.equal(ok.status, 0, 'a symlink to a regular file is fine');
});

t.test('a huge file is refused after reading at most the limit', { skip: needBuild }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfgf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const huge = join(dir, 'huge.yaml');
  // 2 GiB, sparse: costs no disk, but reading it all (what a readFileSync does) takes seconds and 2 GiB.
  execFileSync('truncate', ['-s', '2G', huge]);
  const r = cli(['run', '--check', '--config', huge]);
  t.equal(r.status, 2);
  t.match(r.stderr, /file is larger than 4 MiB/);
  t.ok(r.ms < 5000, `refused in ${r.ms} ms`);
  t.throws(() => loadConfig(huge), /file is larger than 4 MiB/);
});

t.test('a 100k-deep document: exit 2 and a clear message, not a stack overflow', { skip: needBuild }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfgf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const deepArr = '['.repeat(100000) + ']'.repeat(100000);
  for (const [name, text] of [
    ['deep.json', `{"underlay": ${deepArr}}`],
    ['deep-obj.json', '{"a":'.repeat(100000) + '1' + '}'.repeat(100000)],
    ['deep.yaml', `underlay: ${deepArr}\n`],
  ] as const) {
    const f = join(dir, name);
    writeFileSync(f, text);
    const r = cli(['run', '--check', '--config', f]);
    t.equal(r.status, 2, `${name}: exit 2`);
    t.match(r.stderr, /nested (more than \d+ levels deep|too deeply)/, `${name}: says what is wrong`);
    t.notMatch(r.stderr, /Maximum call stack/, `${name}: no stack overflow message`);
  }
});

t.test('YAML syntax errors give the position once', (t) => {
  try {
    parseConfigText('underlay:\n  interface: [x\n', 'bad.yaml');
    t.fail('accepted');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    const msg = (e as Error).message;
    t.equal(msg.match(/line \d+, column \d+/g)?.length, 1, `one position in: ${msg}`);
  }
  t.end();
});

t.test('static FDB entries must be unicast MACs', (t) => {
  const base = {
    underlay: { interface: 'ul0', address: '192.0.2.1' },
    ports: [{ name: 'vm1', interface: 'veth-vm1' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2'] }],
  };
  for (const [mac, kind] of [['ff:ff:ff:ff:ff:ff', 'broadcast'], ['01:00:5e:00:00:01', 'multicast'], ['33:33:00:00:00:01', 'multicast'], ['00:00:00:00:00:00', 'all-zero']]) {
    for (const where of [{ port: 'vm1' }, { remote: '192.0.2.2' }]) {
      const c = { ...structuredClone(base), fdb: { static: [{ vni: 100, mac, ...where }] } };
      t.throws(() => validateConfig(c, 'test'), new RegExp(`fdb\\.static\\[0\\]\\.mac: ${mac} is an? ${kind} address; a static entry needs a unicast MAC`), `${mac} ${JSON.stringify(where)}`);
    }
  }
  t.doesNotThrow(() => validateConfig({ ...structuredClone(base), fdb: { static: [{ vni: 100, mac: '02:00:00:00:00:01', port: 'vm1' }] } }, 'test'));
  t.end();
});

t.test('the reload loader: same answers, off the event loop', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfgf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, GOOD);
  t.same(await loadConfigOffThread(good), loadConfig(good), 'a good config');
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  await t.rejects(loadConfigOffThread(fifo), /not a regular file \(a FIFO\)/);
  await t.rejects(loadConfigOffThread('/dev/zero'), /not a regular file \(a character device\)/);
  // A big valid YAML takes seconds to parse: the event loop must keep turning meanwhile.
  let big = GOOD.split('\n')[0] + '\nnetworks:\n';
  let vni = 0;
  while (big.length < 3.5 * (1 << 20)) big += `  - {vni: ${vni++}, type: vxlan, remotes: [192.0.2.2, 192.0.2.3, 192.0.2.4]}\n`;
  const bigFile = join(dir, 'big.yaml');
  writeFileSync(bigFile, big);
  let maxGap = 0;
  let last = Date.now();
  const timer = setInterval(() => { const now = Date.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 10);
  const t0 = Date.now();
  await t.rejects(loadConfigOffThread(bigFile), /networks: must NOT have more than 4096 items/);
  clearInterval(timer);
  t.ok(maxGap < 250, `event loop never stalled more than 250 ms (worst gap ${maxGap} ms while parsing for ${Date.now() - t0} ms)`);
});

t.test('interfaces missing on this host', async (t) => {
  const cfg = validateConfig({
    underlay: { interface: 'nope-ul0', address: '192.0.2.1' },
    ports: [{ name: 'vm1', interface: 'nope-vm1' }, { name: 'lo', interface: 'lo' }, { name: 't', interface: 'nope-tap', backend: 'tap' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm1', 'lo', 't'], remotes: ['192.0.2.2'] }],
  }, 'test');
  t.same(missingInterfaces(cfg), [
    'underlay.interface: nope-ul0 does not exist on this host',
    'ports[0] (vm1).interface: nope-vm1 does not exist on this host',
  ], 'a TAP port is created when missing; lo exists');
});

t.test('--check warns about missing interfaces; run exits 2 for them', { skip: needBuild }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfgf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.yaml');
  writeFileSync(f, `underlay: {interface: nope-ul0, address: 192.0.2.1}\nports: [{name: vm1, interface: nope-vm1}]\nnetworks: [{vni: 5, type: vxlan, ports: [vm1], remotes: [192.0.2.2]}]\ncontrol: {socket: ${join(dir, 's.sock')}}\nmetrics: {enabled: false}\n`);
  const c = cli(['run', '--check', '--config', f]);
  t.equal(c.status, 0, '--check passes: the config may be meant for another host');
  t.equal(JSON.parse(c.stdout).underlay.interface, 'nope-ul0', 'and prints the config');
  t.match(c.stderr, /warning: underlay\.interface: nope-ul0 does not exist on this host/);
  t.match(c.stderr, /warning: ports\[0\] \(vm1\)\.interface: nope-vm1 does not exist on this host/);
  if (process.getuid?.() !== 0) return;
  // As root (past the privilege check), in a namespace of its own.
  const r = cli(['run', '--config', f], { unshareNet: true });
  t.equal(r.status, 2, `run: exit 2 for a configuration problem (got ${r.status})`);
  t.match(r.stderr, /nope-ul0 does not exist on this host/);
  t.notOk(existsSync(join(dir, 's.sock')), 'nothing was started');
  for (const kernel of [false, true]) {
    if (!kernel) continue;
    const k = join(dir, 'k.yaml');
    writeFileSync(k, `underlay: {interface: nope-ul0, address: 192.0.2.1}\nports: [{name: vm1, interface: nope-vm1}]\nnetworks: [{vni: 5, type: vxlan, ports: [vm1], remotes: [192.0.2.2]}]\ncontrol: {socket: ${join(dir, 'k.sock')}}\nmetrics: {enabled: false}\noffload: {encap-decap: kernel, forwarding-learning: kernel, checksum: kernel, segmentation: kernel}\n`);
    const rk = cli(['run', '--config', k], { unshareNet: true });
    t.equal(rk.status, 2, `kernel mode: exit 2 (got ${rk.status})`);
    t.match(rk.stderr, /nope-vm1 does not exist on this host/);
  }
});

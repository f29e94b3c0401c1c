/**
 * CLI conventions (issue #13), through the built CLI:
 * - usage errors commander finds (unknown option, missing option or argument, a
 *   value outside the choices, no command, a bare command group, an unknown
 *   command) exit 2 with commander's one-line message and a one-line hint, never
 *   the whole help; --help and --version exit 0; the version is package.json's;
 * - `fdb show --json` prints one JSON array (`[]` when the table is empty) with
 *   iproute2 key names, `-j` is its short form, `-p` indents; `fdb flush -j`
 *   prints {"removed": N}. The daemon side is a real ControlServer on a socket
 *   in a temp folder, answering as the daemon's control API does;
 * - each of these holds for the installed `vtepd` (the CommonJS launcher that
 *   bundles the daemon-client commands and imports the others as ES modules)
 *   and for the ES-module entry main.js, and both print the same for a
 *   command the launcher imports lazily (and for `fdb stats`, whose formatter
 *   is one); an error thrown in such a command keeps its exit code.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlServer } from '../../src/control/control-server.js';
import type { FdbEntryJson } from '../../src/control/fdb-entry.js';
import { fdbStats } from '../../src/control/fdb-stats.js';

/** The installed `vtepd` (package.json's bin: the CommonJS launcher) and the ES-module entry behave the same. */
const ENTRIES: [string, string][] = [
  ['launcher', fileURLToPath(new URL('../../dist/src/cli/vtepd.cjs', import.meta.url))],
  ['main.js', fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url))],
];
const PKG = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };

function run(CLI: string, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Without blocking this process: the control server under test lives in it. */
function runAsync(CLI: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args]);
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

for (const [entry, CLI] of ENTRIES) {
  const vtepd = (args: string[]) => run(CLI, args);
  const vtepdAsync = (args: string[]) => runAsync(CLI, args);

  t.test(`${entry}: usage errors: exit 2, one message line and one hint line`, async (t) => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['--bogus'], /unknown option '--bogus'/],
      [['nosuch'], /unknown command 'nosuch'/],
      [['encap', 'a.pcap', 'b.pcap'], /required option '--type <type>' not specified/],
      [['encap', 'a.pcap', 'b.pcap', '--type', 'foo'], /argument 'foo' is invalid\. Allowed choices are vxlan, geneve, nvgre/],
      [['decap', 'a.pcap'], /missing required argument 'out'/],
      [['fdb', 'show', '--nope'], /unknown option '--nope'/],
      [['fdb'], /Usage: vtepd fdb/],
    ];
    for (const [args, msg] of cases) {
      const r = vtepd(args);
      t.equal(r.code, 2, `vtepd ${args.join(' ')}: exit 2`);
      t.match(r.err, msg, 'says what is wrong');
      if (args[0] !== 'fdb' || args.length > 1) {
        t.ok(r.err.trim().split('\n').length <= 2, `one line and a hint, not the whole help: ${JSON.stringify(r.err)}`);
        t.notMatch(r.err, /Usage:/);
      }
    }
    t.match(vtepd(['encap', '--bogus']).err, /\(vtepd encap --help lists/, 'the hint names the command');
  });

  t.test(`${entry}: --help and --version exit 0; the version is package.json's`, async (t) => {
    const v = vtepd(['--version']);
    t.equal(v.code, 0);
    t.equal(v.out.trim(), PKG.version);
    const h = vtepd(['--help']);
    t.equal(h.code, 0);
    for (const c of ['dissect', 'encap', 'decap', 'learn', 'run', 'fdb', 'stats', 'ports', 'trace', 'offload', 'cost', 'demo', 'evpn']) t.match(h.out, new RegExp(`\\n  ${c} `), `lists ${c}`);
    t.equal(vtepd(['encap', '--help']).code, 0);
    t.match(vtepd(['help', 'encap']).out, /Usage: vtepd encap/, 'help NAME loads that command');
  });

  t.test(`${entry}: fdb show --json is one array with iproute2 key names; flush -j`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vtepd-conv-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    let table: FdbEntryJson[] = [];
    let removed = 0;
    const srv = new ControlServer({
      path: join(dir, 'c.sock'),
      handlers: {
        'fdb.show': () => table,
        'fdb.flush': () => ({ removed }),
      'fdb.stats': () => fdbStats(table, { maxEntries: 1000, perPortLimit: 0, perRemoteLimit: 50, full: 'refuse', ageing: 300 }, []),
      },
    });
    await srv.listen();
    t.teardown(() => srv.close());
    const sock = ['--socket', join(dir, 'c.sock')];
    let r = await vtepdAsync(['fdb', 'show', '--json', ...sock]);
    t.equal(r.code, 0);
    t.equal(r.out, '[]\n', 'an empty table is []');
    table = [
      { vni: 100, vlan: null, mac: '02:00:00:00:00:01', port: 'vm1', remote: null, static: false, ageSeconds: 3 },
      { vni: 100, vlan: null, mac: '02:00:00:00:00:02', port: null, remote: '192.0.2.2', static: true, ageSeconds: 0 },
    ];
    r = await vtepdAsync(['fdb', 'show', '-j', ...sock]);
    t.equal(r.out.trim().split('\n').length, 1, 'compact: one line');
    t.same(JSON.parse(r.out), [
      { mac: '02:00:00:00:00:01', vni: 100, vlan: null, state: 'learned', ageSeconds: 3, ifname: 'vm1' },
      { mac: '02:00:00:00:00:02', vni: 100, vlan: null, state: 'static', ageSeconds: 0, dst: '192.0.2.2' },
    ]);
    r = await vtepdAsync(['fdb', 'show', '-j', '-p', ...sock]);
    t.ok(r.out.split('\n').length > 10, '-p indents');
    t.same(JSON.parse(r.out).length, 2);
    removed = 7;
    r = await vtepdAsync(['fdb', 'flush', '-j', ...sock]);
    t.same(JSON.parse(r.out), { removed: 7 });
    t.equal((await vtepdAsync(['fdb', 'flush', ...sock])).out, 'flushed 7 entries\n');
    // The text form's formatter is a module fdb imports only for `fdb stats`: a lazy import from the launcher too.
    r = await vtepdAsync(['fdb', 'stats', ...sock]);
    t.equal(r.code, 0, r.err);
    t.match(r.out, /^entries: 2\/1000 \(0\.2% used; when full: refuse\)\n {2}static 1, learned 1;/);
    t.match(r.out, /\nport vm1: 1 \(no limit\)\nremote 192\.0\.2\.2: 1\/50\n$/);
  });
  t.test(`${entry}: errors from bundled and lazily imported commands keep their exit codes`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vtepd-conv-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const add = vtepd(['fdb', 'add', '--vni', '1', '--mac', '02:00:00:00:00:01', '--socket', join(dir, 'c.sock')]);
    t.equal(add.code, 2, 'fdb add without --port or --remote: a usage error (bundled command)');
    t.match(add.err, /exactly one of --port or --remote/);
    const cfg = vtepd(['run', '--config', join(dir, 'missing.yaml'), '--check']);
    t.equal(cfg.code, 2, 'run with a missing config: exit 2 (a UsageError from the ES-module command)');
    t.match(cfg.err, /missing\.yaml/);
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'not a capture at all');
    const dis = vtepd(['dissect', bad]);
    t.equal(dis.code, 1, 'a corrupt capture: exit 1');
    t.match(dis.err, /^vtepd: /, 'one line');
  });
}

t.test('the launcher and main.js print the same for a lazily imported command', async (t) => {
  const fixture = fileURLToPath(new URL('../../fixtures/geneve.pcap', import.meta.url));
  const [launcher, esm] = ENTRIES.map(([, cli]) => run(cli, ['dissect', '--json', fixture]));
  t.equal(launcher.code, 0);
  t.ok(launcher.out.split('\n').length > 3, 'dissect printed its frames');
  t.equal(launcher.out, esm.out);
  t.equal(launcher.err, esm.err);
});

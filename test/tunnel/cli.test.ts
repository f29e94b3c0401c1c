/**
 * `vtepd encap` / `vtepd decap` as users run them: every bad flag is a one-line
 * error with exit code 2, summaries on stderr, --json on stdout, nanosecond
 * timestamps kept, oversized frames dropped and counted, --keep-other.
 */
import { UsageError } from '../../src/config/usage-error.js';
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { openCapture, PcapWriter } from '../../src/capture/index.js';
import { register as registerEncap } from '../../src/cli/commands/encap.js';
import { register as registerDecap } from '../../src/cli/commands/decap.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vtepd-tcli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// Input: nanosecond pcap, 3 frames (60, 1000 and 1480 bytes, the last too big for MTU 1500 once wrapped).
const inPath = join(dir, 'in.pcap');
{
  const w = new PcapWriter(inPath, { nanos: true });
  for (const [k, size] of [60, 1000, 1480].entries()) {
    const f = new Uint8Array(size);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]); // local experimental ethertype
    f[14] = k;
    w.write(f, 0, size, size, 1700000000 + k, 123456789 + k);
  }
  w.close();
}

function vtepd(args: string[]) {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function records(path: string) {
  const r = openCapture(path);
  const out: { len: number; sec: number; nsec: number }[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) out.push({ len: rec.caplen, sec: rec.tsSec, nsec: rec.tsNsec });
  r.close();
  return out;
}

const enc = (extra: string[]) => ['encap', inPath, join(dir, 'o.pcap'), '--type', 'vxlan', '--vni', '5', '--local', '192.0.2.1', '--remote', '192.0.2.2', ...extra];

/** Parse + run in this process (spawning node per case is slow on a busy host); returns the error. */
async function inProcess(args: string[]): Promise<Error | null> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerEncap(program);
  registerDecap(program);
  try {
    await program.parseAsync(['node', 'vtepd', ...args]);
    return null;
  } catch (e) {
    return e as Error;
  }
}

t.test('bad flags: each a UsageError with a one-line message naming the problem', async (t) => {
  const bad: [string[], RegExp][] = [
    [enc(['--remote', '192.0.2.300']), /remote 0 address: '192\.0\.2\.300' is not an IPv4 or IPv6 address/],
    [enc(['--vni', '16777216']), /--vni must be an integer in 0\.\.16777215, got 16777216/],
    [enc(['--vni', 'ten']), /--vni: 'ten' is not an integer/],
    [enc(['--remote', '2001:db8::2']), /not the same family/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'geneve', '--vni', '1', '--local', '192.0.2.1', '--remote', '192.0.2.2', '--geneve-opt', '1:2:abc'], /not an even-length hex string/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'geneve', '--vni', '1', '--local', '192.0.2.1', '--remote', '192.0.2.2', '--geneve-opt', '1:2:aabbcc'], /whole 4-byte words/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'geneve', '--vni', '1', '--local', '192.0.2.1', '--remote', '192.0.2.2', '--geneve-opt', '0x10000:2:'], /class must be an integer in 0\.\.65535/],
    [enc(['--geneve-opt', '1:2:aabbccdd']), /GENEVE options need --type geneve/],
    [enc(['--mtu', '60']), /MTU \(at least 96 for this tunnel\) must be an integer in 96\.\.65535, got 60/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'vxlan', '--vni', '1', '--local', '2001:db8::1', '--remote', '2001:db8::2', '--mtu', '1000'], /MTU \(at least 1280 for this tunnel\)/],
    [enc(['--vlan', '4095']), /--vlan must be an integer in 1\.\.4094/],
    [enc(['--sport-range', '5-2']), /--sport-range end must be an integer in 5\.\.65535, got 2/],
    [enc(['--sport-range', 'x']), /must be A-B/],
    [enc(['--local-mac', '02:00:00:00:00']), /local MAC: '02:00:00:00:00' is not a MAC address/],
    [enc(['--flow-id', '3']), /--flow-id applies to --type nvgre/],
    [enc(['--zero-csum6']), /applies to an IPv6 outer header only/],
    [enc(['--ttl', '0']), /--ttl must be an integer in 1\.\.255/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'nvgre', '--vni', '1', '--local', '192.0.2.1', '--remote', '192.0.2.2', '--flow-id', '256'], /--flow-id must be an integer in 0\.\.255/],
    [['encap', inPath, join(dir, 'o.pcap'), '--type', 'vxlan', '--vni', '1', '--local', '192.0.2.1'], /--local and --remote are required/],
    [['decap', inPath, join(dir, 'o.pcap'), '--vni', '-1'], /--vni: '-1' is not an integer/],
    [['decap', inPath, join(dir, 'o.pcap'), '--vxlan-port', '6081'], /port 6081 cannot be both VXLAN and GENEVE/],
    [['decap', inPath, join(dir, 'o.pcap'), '--depth', '9'], /--depth must be an integer in 1\.\.8/],
  ];
  for (const [args, re] of bad) {
    const e = await inProcess(args);
    t.ok(e instanceof UsageError, `UsageError for ${args.slice(5).join(' ')}`);
    t.match(e?.message, re);
    t.notOk(e?.message.includes('\n'), 'one line');
  }
  const typ = await inProcess(enc(['--type', 'gre']));
  t.match(typ?.message, /Allowed choices are vxlan, geneve, nvgre/, 'unknown --type refused by commander');
});

t.test('as a process: exit 2 and one line for a bad flag, exit 1 for a missing file', (t) => {
  const r = vtepd(enc(['--vni', '16777216']));
  t.equal(r.code, 2);
  t.equal(r.err, 'vtepd: --vni must be an integer in 0..16777215, got 16777216\n');
  const m = vtepd(['decap', join(dir, 'missing.pcap'), join(dir, 'o.pcap')]);
  t.equal(m.code, 1);
  t.match(m.err, /^vtepd: .*(ENOENT|no such file).*\n$/i);
  t.end();
});

t.test('encap: oversized frame dropped and counted, timestamps kept to the nanosecond, summary on stderr', (t) => {
  const out = join(dir, 'enc.pcap');
  const r = vtepd(['encap', inPath, out, '--type', 'geneve', '--vni', '9', '--local', '2001:db8::1', '--remote', '2001:db8::2']);
  t.equal(r.code, 0);
  t.match(r.err, /vtepd encap: 3 frames in, 2 out, 1 dropped\n\s+drop-mtu-exceeded: 1\n/);
  const recs = records(out);
  t.same(recs.map((x) => x.len), [60 + 70, 1000 + 70], 'IPv6 GENEVE adds 70 bytes (14+40+8+8)');
  t.same(recs.map((x) => [x.sec, x.nsec]), [[1700000000, 123456789], [1700000001, 123456790]], 'timestamps kept');
  t.end();
});

t.test('decap --json and --keep-other', (t) => {
  const enc1 = join(dir, 'e1.pcap');
  t.equal(vtepd(['encap', inPath, enc1, '--type', 'nvgre', '--vni', '7', '--local', '192.0.2.1', '--remote', '192.0.2.2', '--mtu', '9000']).code, 0);
  const r = vtepd(['decap', enc1, join(dir, 'd1.pcap'), '--vni', '8', '--json']);
  t.equal(r.code, 0);
  t.equal(r.err, '', 'nothing on stderr with --json');
  const j = JSON.parse(r.out);
  t.same(j, { command: 'decap', framesIn: 3, framesOut: 0, skippedOversize: 0, counters: { 'in-frames': 3, 'out-frames': 0, 'pass-not-tunnel': 0, 'drop-unknown-vni': 3 } });
  const k = vtepd(['decap', inPath, join(dir, 'd2.pcap'), '--keep-other', '--json']);
  t.equal(JSON.parse(k.out).counters['pass-not-tunnel'], 3);
  t.same(records(join(dir, 'd2.pcap')), records(inPath), 'non-tunnel frames passed with their timestamps');
  t.end();
});

/**
 * Decap of real captures from other projects' test suites (../shared/fixtures/
 * external): the inner frames `vtepd decap` writes must be exactly the ones
 * scapy finds, with the VNIs tshark reports; non-NVGRE GRE and VXLAN on an
 * unconfigured port are not tunnels; a VXLAN nested three deep (reserved flag
 * bit set) is stripped level by level. Skips when ../shared is absent.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecapStage } from '../../src/tunnel/decap.js';
import { runCapture, type CaptureRunResult } from '../../src/tunnel/capture-tool.js';
import { decapConfigFromFlags } from '../../src/cli/commands/decap.js';
import { captureFrames as frames, PY } from './fixtures/util.js';

const ext = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const INNER = fileURLToPath(new URL('./fixtures/scapy_inner.py', import.meta.url));
const skip = existsSync(ext) ? false : '../shared/fixtures/external is absent';
const dir = mkdtempSync(join(tmpdir(), 'vtepd-ext-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Run the decap command's code in-process (flags -> config -> stage -> files): node start-up per call is slow on a busy host. */
function decap(file: string, args: string[] = []): { out: string[]; summary: CaptureRunResult } {
  const opts = { vni: [] as string[], vxlanPort: [] as string[], genevePort: [] as string[], geneveKnown: [] as string[], nvgre: true, ipCsum: true, keepOther: false, depth: undefined as string | undefined };
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === '--no-ip-csum') opts.ipCsum = false;
    else if (a === '--keep-other') opts.keepOther = true;
    else if (a === '--vxlan-port') opts.vxlanPort.push(args[++k]);
    else if (a === '--geneve-known') opts.geneveKnown.push(args[++k]);
    else if (a === '--depth') opts.depth = args[++k];
    else throw new Error(`test helper does not know ${a}`);
  }
  const out = join(dir, 'out.pcap');
  const summary = runCapture(file, out, new DecapStage(decapConfigFromFlags(opts)));
  return { out: frames(out), summary };
}

interface Inner { file: string; n: number; vni: number; inner: string }
function scapyRun(files: string[], port?: number): Inner[] {
  const o = execFileSync(PY, [INNER, ...(port ? ['--vxlan-port', String(port)] : []), ...files], { encoding: 'utf8' }).trim();
  return o ? o.split('\n').map((l) => JSON.parse(l) as Inner) : [];
}
// One scapy process for all the plain cases (it takes seconds to start).
const scapyAll = skip ? [] : scapyRun(['tcpdump/vxlan.pcap', 'zeek/vxlan.pcap', 'packetnet/vxlan.pcap', 'tcpdump/geneve.pcap', 'zeek/geneve.pcap', 'zeek/geneve-many-options.pcap', 'packetnet/gre_nvgre.pcap', 'zeek/vxlan-triple-v2.pcap'].map((f) => join(ext, f)));
function scapyInner(file: string, port?: number): Inner[] {
  const known = scapyAll.filter((r) => r.file === file);
  return known.length || port ? (port ? scapyRun([file], port) : known) : scapyRun([file]);
}

function tsharkVnis(file: string, field: string): number[] {
  return execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=f', '-e', field], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split('\n').filter((l) => l !== '').map((v) => (field === 'gre.key' ? parseInt(v, 16) >>> 8 : v.startsWith('0x') ? parseInt(v, 16) : Number(v)));
}

const cases: [string, string, string[]][] = [
  ['tcpdump/vxlan.pcap', 'vxlan.vni', []],
  ['zeek/vxlan.pcap', 'vxlan.vni', []],
  ['packetnet/vxlan.pcap', 'vxlan.vni', ['--no-ip-csum']], // synthetic: IPv4 checksums 0
  // 19 frames carry a critical option (class 0, type 0x80): understood only when configured.
  ['tcpdump/geneve.pcap', 'geneve.vni', ['--geneve-known', '0:0x80']],
  ['zeek/geneve.pcap', 'geneve.vni', []],
  ['zeek/geneve-many-options.pcap', 'geneve.vni', []],
  // Synthetic capture with IPv4 header checksums 0: only passes without the IPv4 checksum check.
  ['packetnet/gre_nvgre.pcap', 'gre.key', ['--no-ip-csum']],
];

for (const [name, field, args] of cases) {
  t.test(`${name}: the inner frames scapy finds, with tshark's VNIs`, { skip }, (t) => {
    const file = join(ext, name);
    const want = scapyInner(file);
    t.ok(want.length > 0, `scapy finds ${want.length} tunnelled frames`);
    const { out, summary } = decap(file, args);
    t.same(out, want.map((w) => w.inner), 'decap output == scapy inner frames, byte for byte, in order');
    t.same(want.map((w) => w.vni), tsharkVnis(file, field), 'scapy and tshark agree on the VNIs');
    t.equal(summary.framesIn, frames(file).length);
    t.end();
  });
}

t.test('NVGRE capture with zero IPv4 checksums is dropped with the checksum check on', { skip }, (t) => {
  const { summary } = decap(join(ext, 'packetnet/gre_nvgre.pcap'));
  t.equal(summary.counters['drop-ip4-bad-checksum'], 1);
  t.equal(summary.framesOut, 0);
  t.end();
});

t.test('GENEVE critical option not understood: those frames dropped, the others delivered', { skip }, (t) => {
  const file = join(ext, 'tcpdump/geneve.pcap');
  const crit = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'geneve.flags.critical'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
  const want = scapyInner(file).filter((_, k) => crit[k] === '0').map((w) => w.inner);
  t.equal(want.length, 20, 'tshark: 20 frames without critical options');
  const { out, summary } = decap(file);
  t.same(out, want);
  t.equal(summary.counters['drop-geneve-critical-option'], 19);
  t.end();
});

t.test('VXLAN on UDP 65530 is not a tunnel by default, and decapsulates with --vxlan-port 65530', { skip }, (t) => {
  const file = join(ext, 'packetnet/vxlan_custom_port.pcap');
  const a = decap(file);
  t.equal(a.summary.counters['drop-not-tunnel'], 1);
  const b = decap(file, ['--vxlan-port', '65530', '--no-ip-csum']);
  t.same(b.out, scapyInner(file, 65530).map((w) => w.inner));
  t.equal(b.out.length, 1);
  t.end();
});

t.test('GRE that is not NVGRE (keepalives, CDP) passes with --keep-other, untouched', { skip }, (t) => {
  const file = join(ext, 'tcpdump/various_gre.pcap');
  const { out, summary } = decap(file, ['--keep-other']);
  t.same(out, frames(file), 'every frame passed through byte for byte');
  t.equal(summary.counters['pass-not-tunnel'], frames(file).length);
  t.end();
});

t.test('VXLAN nested three deep: one level per --depth, deeper dropped', { skip }, (t) => {
  const file = join(ext, 'zeek/vxlan-triple-v2.pcap');
  const vnis = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'vxlan.vni'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  t.equal(vnis, '1,2,3', 'tshark sees VNIs 1, 2, 3');
  // scapy: the frame under each VXLAN level, outermost first.
  const [l1, , l3] = execFileSync(PY, ['-c', `
import logging; logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import rdpcap, raw
from scapy.layers.vxlan import VXLAN
t = rdpcap('${file}')[0]
while t.haslayer(VXLAN):
    t = t[VXLAN].payload
    print(raw(t).hex())
`], { encoding: 'utf8' }).trim().split('\n');
  const d1 = decap(file);
  t.same(d1.out, [l1], 'depth 1: the first inner frame (itself VXLAN)');
  t.same(decap(file, ['--depth', '3']).out, [l3], 'depth 3: the DNS frame at the bottom');
  const d2 = decap(file, ['--depth', '2']);
  t.same(d2.out, [], 'depth 2: a third level is too deep');
  t.equal(d2.summary.counters['drop-nested-too-deep'], 1);
  t.end();
});

t.test('truncated and corrupt captures: counted drops or a clean error, never a crash', { skip }, (t) => {
  const r = decap(join(ext, 'zeek/ip4-trunc.pcap'));
  t.equal(r.out.length, 0);
  t.equal(r.summary.counters['drop-not-tunnel'], 1, 'a frame whose IP header is cut off cannot be classified: not a tunnel');
  let err = '';
  try {
    execFileSync('node', [CLI, 'decap', join(ext, 'zeek/trunc-hdr.pcap'), join(dir, 'x.pcap')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    err = String((e as { stderr: string }).stderr);
  }
  t.match(err, /^vtepd: .+/, 'one-line error');
  t.notMatch(err, /\n\s+at /, 'no stack trace');
  t.end();
});

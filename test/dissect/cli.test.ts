/**
 * `vtepd dissect` as a user runs it (spawned from dist/: `npm run build` first):
 * bad capture files print every good frame, then ONE line on stderr with the
 * byte offset, exit 1; text and JSON output; `| head` ends quietly; the CLI's
 * output equals the in-process loop the tshark test uses.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PcapWriter } from '../../src/capture/index.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { cli, dissect, dissectLocal, fixturesDir, external, hasExternal } from './oracle.js';

const built = existsSync(cli) ? false : 'dist/ missing: run npm run build';
const badDir = join(fixturesDir, 'bad');
const haveBad = existsSync(join(badDir, 'expected.json'));

// Spawning node costs seconds on a loaded host: the CLI runs on three bad files
// (pcap with good frames first, pcapng, header fault); the loop it calls runs in-process on all.
const SPAWNED = new Set(['garbage-record-header.pcap', 'pcapng-block-length-mismatch.pcapng', 'bad-magic.pcap']);

t.test('every bad file in fixtures/bad: good frames, then one error line with the offset, exit 1', { skip: built || (!haveBad && 'fixtures/bad absent') }, async (t) => {
  const expected = JSON.parse(readFileSync(join(badDir, 'expected.json'), 'utf8')) as Record<string, { good: number; message: string; offset: number }>;
  for (const [name, e] of Object.entries(expected)) {
    const file = join(badDir, name);
    let d: { status: number | null; frames: unknown[]; stderr: string };
    if (SPAWNED.has(name)) {
      d = dissect(file);
      const lines = d.stderr.trimEnd().split('\n');
      t.equal(lines.length, 1, `${name}: one stderr line`);
      t.match(lines[0], /^vtepd: /);
      t.notMatch(d.stderr, /\n\s+at /, `${name}: no stack trace`);
    } else {
      try {
        d = await dissectLocal(file);
      } catch (err) {
        d = { status: 1, frames: [], stderr: String(err) }; // header faults throw before any frame
      }
    }
    t.equal(d.status, 1, `${name}: exit 1`);
    t.equal(d.frames.length, e.good, `${name}: ${e.good} good frames first`);
    t.match(d.stderr, e.message, `${name}: names the fault`);
    t.match(d.stderr, `at byte offset ${e.offset}`, `${name}: offset ${e.offset}`);
  }
});

t.test('external corrupt files (joincap, libpcap, zeek trunc-hdr)', { skip: built || (!hasExternal && '../shared absent') }, async (t) => {
  const cases: [string, number, RegExp][] = [
    // its first record header says caplen 0; the next one is packet bytes read as a header
    ['joincap/bad_first_header.pcap', 1, /garbage record header.*at byte offset 40/],
    ['joincap/partial_first_header.pcap', 0, /at byte offset 24/],
    ['joincap/partial_global_header.pcap', 0, /at byte offset 0/],
    ['joincap/unexpected_eof_on_first_packet.pcap', 0, /at byte offset 24/],
    ['joincap/unexpected_eof_on_second_packet.pcap', 1, /at byte offset \d+/],
    ['joincap/empty', 0, /at byte offset 0/],
    ['libpcap/pcap-invalid-version-1.pcap', 0, /version 1\.4.*at byte offset/],
    ['libpcap/pcapng-truncated-shb.pcapng', 0, /at byte offset 0/],
    ['zeek/trunc-hdr.pcap', 0, /snap length 1.*at byte offset 24/],
  ];
  for (const [f, good, re] of cases) {
    const p = join(external, f);
    if (!existsSync(p)) { t.comment(`${f} absent`); continue; }
    let d: { status: number | null; frames: unknown[]; stderr: string };
    try {
      d = await dissectLocal(p);
    } catch (err) {
      d = { status: 1, frames: [], stderr: String(err) };
    }
    t.equal(d.status, 1, `${f}: fails`);
    t.equal(d.frames.length, good, `${f}: ${good} good frames`);
    t.match(d.stderr, re, `${f}: ${d.stderr.trim()}`);
  }
  const ok = await dissectLocal(join(external, 'joincap/no_packets.pcap'));
  t.equal(ok.status, 0, 'a file with only a global header is fine');
  t.equal(ok.frames.length, 0);
});

t.test('non-Ethernet link type: clear error naming it', { skip: built || (!haveBad && 'fixtures/bad absent') }, (t) => {
  const d = dissect(join(badDir, 'linktype-linux-sll.pcap'));
  t.equal(d.status, 1);
  t.match(d.stderr, /link type 113 \(LINUX_SLL\) is not supported/);
  t.end();
});

t.test('missing file and bad flags are one-line user errors', { skip: built }, (t) => {
  const d = dissect('/nonexistent/x.pcap');
  t.equal(d.status, 1);
  t.match(d.stderr, /^vtepd: .*x\.pcap.*ENOENT|no such file/i);
  const r = spawnSync(process.execPath, [cli, 'dissect', '--vxlan-port', '70000', join(fixturesDir, 'vlan.pcap')], { encoding: 'utf8' });
  t.equal(r.status, 2, 'a usage error');
  t.match(r.stderr, /option '--vxlan-port <port>' argument '70000' is invalid\. must be an integer 1\.\.65535/);
  t.end();
});

t.test('CLI --json output = the in-process loop, byte for byte', { skip: built || (!existsSync(fixturesDir) && 'no fixtures') }, async (t) => {
  for (const f of ['nested.pcap', 'truncated.pcap', 'interfaces.pcapng']) {
    const p = join(fixturesDir, f);
    if (!existsSync(p)) continue;
    const a = dissect(p);
    const b = await dissectLocal(p);
    t.equal(a.status, 0, `${f} exit 0`);
    t.equal(a.stdout, b.stdout, `${f}: same lines`);
  }
});

t.test('truncated frames: layers so far + error naming the header and offset; never fatal', { skip: built || (!existsSync(join(fixturesDir, 'truncated.pcap')) && 'no fixture') }, (t) => {
  const d = dissect(join(fixturesDir, 'truncated.pcap'));
  t.equal(d.status, 0, 'exit 0: truncation is per frame');
  const errs = d.frames.map((f) => f.error ?? '');
  // One per cut in fixtures/README.md, in order.
  const want = [
    /^truncated ipv4 header at offset 14$/,
    /^truncated udp header at offset 34$/,
    /^truncated vxlan header at offset 42$/,
    /^truncated eth header at offset 50$/,
    /^truncated geneve header at offset 42$/,
    /^truncated geneve header at offset 42$/,
    /^truncated ipv6 header at offset 14$/,
    /^truncated (gre|nvgre) header at offset 34$/,
    /^truncated eth header at offset 0$/,
  ];
  t.equal(errs.length, want.length);
  errs.forEach((e, i) => t.match(e, want[i], `frame ${i + 1}: ${e}`));
  // Layers so far: the frame cut in the VXLAN header still shows eth/ipv4/udp.
  t.same(d.frames[2].layers.map((l) => l.proto), ['eth', 'ipv4', 'udp']);
  t.ok(d.frames.every((f) => f.caplen < f.len));
  t.end();
});

t.test('text output: one tcpdump-like line per frame', { skip: built || (!existsSync(join(fixturesDir, 'nested.pcap')) && 'no fixture') }, (t) => {
  const r = spawnSync(process.execPath, [cli, 'dissect', join(fixturesDir, 'nested.pcap')], { encoding: 'utf8' });
  t.equal(r.status, 0);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, 3);
  t.match(lines[0], /^1 1700000000\.\d{9} 02:00:00:00:00:01 > 02:00:00:00:00:02 .*VXLAN vni 1000 .*GENEVE vni 2000 .*VXLAN vni 3000 .*ICMP type 8/);
  t.match(lines[1], /VXLAN vni 1001 .*NVGRE vsid 16962/);
  t.end();
});

t.test('| head: a closed pipe ends the run quietly', { skip: built }, (t) => {
  // 20,000 frames give megabytes of JSON: the writer is sure to hit the closed pipe.
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-epipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.pcap');
  const w = new PcapWriter(file);
  const s = sampleFrames();
  for (let i = 0; i < 20000; i++) w.write(s[i % s.length].bytes, 0, s[i % s.length].bytes.length, s[i % s.length].bytes.length, i, 0);
  w.close();
  const r = spawnSync('bash', ['-c', `set -o pipefail; node ${cli} dissect --json ${file} | head -c 100 >/dev/null; echo "rc=$?"`], { encoding: 'utf8' });
  t.match(r.stdout, /rc=0/, 'dissect exits 0 when the reader goes away');
  t.equal(r.stderr, '', 'nothing on stderr');
  t.end();
});

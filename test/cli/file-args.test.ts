/**
 * The capture file rules of dissect, learn, encap and decap (src/cli/file-args.ts),
 * run through the built CLI as users run it:
 * - the same file as input and output (same path, hard link, symlink) is refused
 *   with exit 2 and the input is left byte for byte as it was;
 * - a run that fails mid-file leaves no partial output and an old OUT untouched;
 * - `-` reads stdin and writes stdout (tcpdump reads what encap writes), with the
 *   counters on stderr; a closed pipe ends quietly with status 0;
 * - a missing input exits 1 with the same message in all four commands;
 * - dissect folds a long run of identical record errors into one line.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../../src/capture/index.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vtepd-fargs-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function vtepd(args: string[], input?: Buffer) {
  const r = spawnSync('node', [CLI, ...args], { input, maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout, err: r.stderr.toString() };
}
const ENCAP = ['--type', 'vxlan', '--vni', '100', '--local', '192.0.2.1', '--remote', '192.0.2.2'];

function frames(path: string, n: number, size = 60): void {
  const w = new PcapWriter(path);
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
  for (let i = 0; i < n; i++) w.write(f, 0, size, size, i, 0);
  w.close();
}

t.test('the same file as input and output is refused, the input intact', async (t) => {
  const a = join(dir, 'same.pcap');
  copyFileSync(join(FIXTURES, 'vxlan-ipv4.pcap'), a);
  const before = readFileSync(a);
  linkSync(a, join(dir, 'same-hard.pcap'));
  symlinkSync(a, join(dir, 'same-sym.pcap'));
  for (const [inp, out] of [[a, a], [a, join(dir, 'same-hard.pcap')], [a, join(dir, 'same-sym.pcap')], [join(dir, 'same-sym.pcap'), a]]) {
    for (const cmd of [['decap', inp, out], ['encap', inp, out, ...ENCAP]]) {
      const r = vtepd(cmd);
      t.equal(r.code, 2, `${cmd[0]} ${inp} ${out}: exit 2`);
      t.match(r.err, /is the input file .*same device and inode/, 'says why');
      t.same(readFileSync(a), before, 'input byte for byte as it was');
    }
  }
});

t.test('a run that fails mid-file leaves no partial output and an old OUT untouched', async (t) => {
  const bad = join(FIXTURES, 'bad', 'garbage-record-header.pcap');
  const old = join(dir, 'old-out.pcap');
  writeFileSync(old, 'previous result');
  let r = vtepd(['decap', bad, old]);
  t.equal(r.code, 1, 'a corrupt capture exits 1');
  t.match(r.err, /garbage-record-header\.pcap: garbage record header/, 'the error names the input');
  t.equal(readFileSync(old, 'utf8'), 'previous result', 'the old output is untouched');
  const fresh = join(dir, 'fresh-out.pcap');
  r = vtepd(['encap', bad, fresh, ...ENCAP]);
  t.equal(r.code, 1);
  t.notOk(existsSync(fresh), 'no partial output');
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
  // And a good run replaces OUT whole.
  r = vtepd(['decap', join(FIXTURES, 'vxlan-ipv4.pcap'), old]);
  t.equal(r.code, 0);
  t.equal(readFileSync(old).readUInt32LE(0), 0xa1b2c3d4, 'OUT is now a pcap');
});

t.test('- is stdin and stdout; counters go to stderr; tcpdump reads the stream', async (t) => {
  const inp = readFileSync(join(FIXTURES, 'vxlan-ipv4.pcap'));
  const r = vtepd(['decap', '--json', '-', '-'], inp);
  t.equal(r.code, 0);
  t.equal(r.out.readUInt32LE(0) >>> 0, 0xa1b2c3d4, 'a pcap on stdout');
  t.match(JSON.parse(r.err), { command: 'decap', framesIn: 4, framesOut: 4 }, 'the JSON counters on stderr');
  const out = join(dir, 'stdout.pcap');
  writeFileSync(out, r.out);
  const decoded = execFileSync('tcpdump', ['-nn', '-r', out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  t.equal(decoded.trim().split('\n').length, 4, 'tcpdump reads 4 frames');
  t.notOk(existsSync(join(process.cwd(), '-')), 'no file named -');
  const d = vtepd(['dissect', '-'], inp);
  t.equal(d.code, 0);
  t.equal(d.out.toString().trim().split('\n').length, 4, 'dissect - reads stdin');
  const l = vtepd(['learn', '-'], inp);
  t.equal(l.code, 0, 'learn - reads stdin');
});

t.test('a closed pipe ends quietly with status 0', async (t) => {
  const big = join(dir, 'big.pcap');
  frames(big, 200000);
  for (const cmd of [['encap', big, '-', ...ENCAP], ['dissect', big]]) {
    const direct = spawnSync('bash', ['-c', `node "${CLI}" ${cmd.map((a) => `'${a}'`).join(' ')} | head -c 100 >/dev/null; exit \${PIPESTATUS[0]}`], { encoding: 'utf8' });
    t.equal(direct.status, 0, `${cmd[0]} | head: status 0 (stderr: ${direct.stderr.trim().slice(-300)})`);
    t.notMatch(direct.stderr, /EPIPE|Error/, 'nothing on stderr');
  }
});

t.test('a missing input: exit 1 and one message in every command', async (t) => {
  const missing = join(dir, 'missing.pcap');
  for (const cmd of [['dissect', missing], ['learn', missing], ['decap', missing, join(dir, 'o1.pcap')], ['encap', missing, join(dir, 'o2.pcap'), ...ENCAP]]) {
    const r = vtepd(cmd);
    t.equal(r.code, 1, `${cmd[0]}: exit 1`);
    t.equal(r.err, `vtepd: ${missing}: no such file or directory\n`, `${cmd[0]}: the same message`);
  }
  t.notOk(existsSync(join(dir, 'o1.pcap')) || existsSync(join(dir, 'o2.pcap')), 'no output for a missing input');
});

t.test('dissect folds a long run of identical record errors', async (t) => {
  // 100,000 zero-length records: each is "truncated eth header"; then one good frame.
  const path = join(dir, 'zeros.pcap');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6); hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
  const recs = Buffer.alloc(16 * 100000);
  for (let i = 0; i < 100000; i++) recs.writeUInt32LE(i, 16 * i);
  const good = Buffer.alloc(16 + 60);
  good.writeUInt32LE(100000, 0); good.writeUInt32LE(60, 8); good.writeUInt32LE(60, 12);
  Buffer.from('020000000002020000000001' + '88b5', 'hex').copy(good, 16);
  writeFileSync(path, Buffer.concat([hdr, recs, good]));
  const r = vtepd(['dissect', path]);
  t.equal(r.code, 0);
  const lines = r.out.toString().trim().split('\n');
  t.equal(lines.length, 12, '10 errors, one folded line, the good frame');
  t.equal(lines[10], '... 99990 more records with the same error folded (frames 11-100000): truncated eth header at offset 0');
  t.match(lines[11], /^100001 .*ethertype 0x88b5/, 'the good frame after the run is printed');
  const j = vtepd(['dissect', '--json', path]);
  const folded = JSON.parse(j.out.toString().trim().split('\n')[10]);
  t.same(folded, { folded: 99990, frames: [11, 100000], error: 'truncated eth header at offset 0' });
  t.ok(statSync(path).size > 1_000_000, 'the input was big enough to matter');
});

/**
 * The byte emitters (emit-json.ts, emit-text.ts) against the string formatters
 * (format-json.ts, format-text.ts): the same line, byte for byte, on every
 * frame of the sample mix and of the fixture captures, at every cut length,
 * and with every byte set to 0x00 / 0xff / bit-flipped (which drives the
 * emitters through their fast paths and their fallbacks: 802.3, fragments,
 * options, errors). Also: a run through dissectFileChunks gives the same
 * lines as dissectFile, also when the writer holds chunks a while (buffer reuse).
 */
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalkState, walkFrame } from '../../src/dissect/walk.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { frameJson } from '../../src/dissect/format-json.js';
import { frameText } from '../../src/dissect/format-text.js';
import { ByteOut } from '../../src/dissect/byte-out.js';
import { emitFrameJson } from '../../src/dissect/emit-json.js';
import { emitFrameText } from '../../src/dissect/emit-text.js';
import { dissectFile, dissectFileChunks } from '../../src/dissect/run.js';
import { PcapWriter } from '../../src/capture/index.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

t.test('byte emitters write exactly what the string formatters return', async (t) => {
  const st = new WalkState();
  const o = new ByteOut(1 << 16);
  let checked = 0;
  let bad = 0;
  const check = (b: Uint8Array, n: number, frame: number): void => {
    walkFrame(b, 0, n, st);
    const ts = [1_700_000_000 + frame, (frame * 7919) % 1_000_000_000] as const;
    for (const [name, ref, emit] of [['json', frameJson, emitFrameJson], ['text', frameText, emitFrameText]] as const) {
      const want = ref(b, st, frame, ts[0], ts[1], n, n + (frame & 1)) + '\n';
      emit(o, b, st, frame, ts[0], ts[1], n, n + (frame & 1));
      const got = o.take().toString('utf8');
      checked++;
      if (got !== want && bad++ < 5) t.equal(got, want, `${name} frame ${frame} (${n} bytes)`);
    }
  };
  let frame = 0;
  for (const s of sampleFrames()) {
    const b = s.bytes;
    for (let n = 0; n <= b.length; n++) check(b, n, ++frame);
    for (let i = 0; i < b.length; i++) {
      for (const v of [0, 0xff, b[i] ^ 0x55]) {
        const c = b.slice();
        c[i] = v;
        check(c, c.length, ++frame);
      }
    }
  }
  t.equal(bad, 0, `${checked} lines identical`);
});

t.test('dissectFileChunks = dissectFile on every fixture', async (t) => {
  for (const f of readdirSync(FIXTURES).filter((x) => /\.pcap(ng)?$/.test(x))) {
    for (const json of [false, true]) {
      const lines: string[] = [];
      const a = await dissectFile(join(FIXTURES, f), { json }, (l) => { lines.push(l + '\n'); return true; });
      const chunks: Buffer[] = [];
      const b = await dissectFileChunks(join(FIXTURES, f), { json }, (c) => { chunks.push(Buffer.from(c)); return true; });
      t.equal(Buffer.concat(chunks).toString('utf8'), lines.join(''), `${f} ${json ? 'json' : 'text'}: same output`);
      t.equal(b.frames, a.frames);
      t.equal(String(b.fault), String(a.fault));
    }
  }
});

t.test('ByteOut.ipv6 and dec agree with formatIpv6At and String()', async (t) => {
  const { formatIpv6At } = await import('../../src/packet/ipv6.js');
  const o = new ByteOut(1 << 12);
  const a = new Uint8Array(16);
  let bad = 0;
  // Every pattern of zero / non-zero words (runs, ties, mapped v4), twice with different non-zero values.
  for (let mask = 0; mask < 256; mask++) {
    for (const v of [0x0001, 0xabcd]) {
      for (let i = 0; i < 8; i++) { const w = mask & (1 << i) ? v + i : 0; a[2 * i] = w >>> 8; a[2 * i + 1] = w & 0xff; }
      o.ipv6(a, 0);
      if (o.take().toString() !== formatIpv6At(a, 0)) bad++;
    }
  }
  a.fill(0); a[10] = a[11] = 0xff; a[12] = 192; a[15] = 7;
  o.ipv6(a, 0);
  t.equal(o.take().toString(), '::ffff:192.0.0.7');
  t.equal(bad, 0, 'all 512 zero-run patterns');
  for (const n of [0, 9, 10, 99, 100, 999, 1000, 1028, 1029, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 1e15 + 7, -1, -1234]) {
    o.dec(n);
    t.equal(o.take().toString(), String(n));
  }
});

t.test('byte writers agree with String() / toString(16) across their table boundaries', async (t) => {
  const o = new ByteOut(1 << 12);
  let bad = 0;
  const eq = (got: string, want: string): void => { if (got !== want && bad++ < 5) t.equal(got, want); };
  const nums = [0, 9, 10, 99, 100, 999, 1000, 1001, 9999, 65535, 131071, 131072, 171991, 171992, 999999, 1e6, 1e6 + 1, 999999999, 1e9,
    1_700_000_000, 2 ** 32 - 1, 999999999999, 1e12, 1e12 + 7, 2 ** 53 - 1, -1, -1000, -1e10];
  for (let i = 0; i < 200000; i++) nums.push(Math.floor(Math.random() * 10 ** (1 + (i % 13))));
  for (const n of nums) { o.dec(n); eq(o.take().toString(), String(n)); }
  for (let n = 0; n < 1e9; n += 999_983) { o.dec9(n); eq(o.take().toString(), String(n).padStart(9, '0')); }
  for (let n = 0; n < 70000; n += 7) {
    o.hex(n); eq(o.take().toString(), n.toString(16));
    o.hex16(n & 0xffff); eq(o.take().toString(), `0x${(n & 0xffff).toString(16).padStart(4, '0')}`);
  }
  const b = new Uint8Array(10);
  for (let i = 0; i < 20000; i++) {
    for (let j = 0; j < 10; j++) b[j] = (i * 7 + j * 31 + (i >> 8) * j) & 0xff;
    o.mac(b, 2); eq(o.take().toString(), Array.from(b.subarray(2, 8), (x) => x.toString(16).padStart(2, '0')).join(':'));
    o.ipv4(b, 3); eq(o.take().toString(), Array.from(b.subarray(3, 7)).join('.'));
  }
  t.equal(bad, 0, 'all numbers, MACs and addresses');
});

t.test('timestamps: seconds below, within and above the 10-digit path', async (t) => {
  const st = new WalkState();
  const o = new ByteOut(1 << 12);
  const b = sampleFrames()[0].bytes;
  walkFrame(b, 0, b.length, st);
  let bad = 0;
  for (const sec of [5, 5, 1_700_000_000, 1_700_000_000, 1_700_000_001, 999_999_999_999, 1e12 + 3, 0, 42, 42]) {
    for (const [ref, emit] of [[frameJson, emitFrameJson], [frameText, emitFrameText]] as const) {
      emit(o, b, st, 1, sec, 123, b.length, b.length);
      if (o.take().toString() !== ref(b, st, 1, sec, 123, b.length, b.length) + '\n') bad++;
    }
  }
  t.equal(bad, 0);
});

t.test('recycled output buffers are not reused while a slow writer still holds them', async (t) => {
  const { Writable } = await import('node:stream');
  const { Out } = await import('../../src/cli/commands/dissect.js');
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-recycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.pcap');
  const w = new PcapWriter(file);
  const s = sampleFrames();
  for (let i = 0; i < 12000; i++) w.write(s[i % s.length].bytes, 0, s[i % s.length].bytes.length, s[i % s.length].bytes.length, i, 0);
  w.close();
  // A writer that looks at each chunk only later, as a socket or a slow pipe would.
  const seen: Buffer[] = [];
  const slow = new Writable({
    highWaterMark: 1 << 22,
    write(chunk: Buffer, _enc, cb) { setTimeout(() => { seen.push(Buffer.from(chunk)); cb(); }, 2); },
  });
  const out = new Out(slow as unknown as NodeJS.WriteStream);
  const res = await dissectFileChunks(file, { json: true }, (c, recycle) => out.write(c, recycle));
  await new Promise<void>((resolve) => slow.end(resolve));
  const lines: string[] = [];
  await dissectFile(file, { json: true }, (l) => { lines.push(l + '\n'); return true; });
  t.equal(res.frames, 12000);
  t.ok(seen.length > 3, `${seen.length} chunks`);
  t.ok(Buffer.concat(seen).toString('utf8') === lines.join(''), 'every chunk intact when the writer read it');
});

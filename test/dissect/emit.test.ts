/**
 * The byte emitters (emit-json.ts, emit-text.ts) against the string formatters
 * (format-json.ts, format-text.ts): the same line, byte for byte, on every
 * frame of the sample mix and of the fixture captures, at every cut length,
 * and with every byte set to 0x00 / 0xff / bit-flipped (which drives the
 * emitters through their fast paths and their fallbacks: 802.3, fragments,
 * options, errors). Also: a run through dissectFileChunks gives the same
 * lines as dissectFile.
 */
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WalkState, walkFrame } from '../../src/dissect/walk.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { frameJson } from '../../src/dissect/format-json.js';
import { frameText } from '../../src/dissect/format-text.js';
import { ByteOut } from '../../src/dissect/byte-out.js';
import { emitFrameJson } from '../../src/dissect/emit-json.js';
import { emitFrameText } from '../../src/dissect/emit-text.js';
import { dissectFile, dissectFileChunks } from '../../src/dissect/run.js';

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

/**
 * pcapng timestamps: 64-bit tick counts at every if_tsresol (10^-n and 2^-n) and
 * if_tsoffset, converted exactly (checked against BigInt arithmetic here and
 * against tshark for the common resolutions).
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';

const dir = mkdtempSync(join(tmpdir(), `vtepd-ts-${process.pid}-`));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const RESOLUTIONS = [0, 1, 3, 6, 9, 12, 0x80 | 0, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 40];
const OFFSETS = [0n, 3600n, -86400n];

let seed = 12345;
function rand32(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed;
}

function units(res: number): bigint {
  return res & 0x80 ? 1n << BigInt(res & 0x7f) : 10n ** BigInt(res);
}

/** One pcapng: an IDB per (resolution, offset), EPBs with random ticks; returns bytes and expected "sec.nsec" strings. */
function build(): { bytes: Uint8Array; want: string[]; common: boolean[] } {
  const parts: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array): void => {
    const b = new Uint8Array(12 + body.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, b.length, true);
    b.set(body, 8);
    v.setUint32(b.length - 4, b.length, true);
    parts.push(b);
  };
  const shb = new Uint8Array(16);
  new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
  new DataView(shb.buffer).setUint16(4, 1, true);
  block(0x0a0d0d0a, shb);
  const ifaces: [number, bigint][] = [];
  for (const res of RESOLUTIONS) {
    for (const off of OFFSETS) {
      const body = new Uint8Array(8 + 8 + 12 + 4);
      const v = new DataView(body.buffer);
      v.setUint16(0, 1, true);
      v.setUint16(8, 9, true); // if_tsresol
      v.setUint16(10, 1, true);
      body[12] = res;
      v.setUint16(16, 14, true); // if_tsoffset
      v.setUint16(18, 8, true);
      v.setBigInt64(20, off, true);
      block(1, body);
      ifaces.push([res, off]);
    }
  }
  const want: string[] = [];
  const common: boolean[] = [];
  for (let i = 0; i < 3000; i++) {
    const ifc = i % ifaces.length;
    const [res, off] = ifaces[ifc];
    const u = units(res);
    // Random second up to 2^34 (year 2514) and fraction, kept inside 64 bits.
    let ticks = (BigInt(rand32() & 0x3) << 32n | BigInt(rand32())) * u + (BigInt(rand32()) << 32n | BigInt(rand32())) % u;
    if (i % 7 === 0) ticks = BigInt(rand32()); // small values too
    ticks &= (1n << 64n) - 1n;
    const sec = ticks / u + off;
    const nsec = ((ticks % u) * 1_000_000_000n) / u;
    want.push(`${sec}.${String(nsec).padStart(9, '0')}`);
    common.push((res === 6 || res === 9) && sec > 0n);
    const body = new Uint8Array(20 + 60);
    const v = new DataView(body.buffer);
    v.setUint32(0, ifc, true);
    v.setUint32(4, Number(ticks >> 32n), true);
    v.setUint32(8, Number(ticks & 0xffffffffn), true);
    v.setUint32(12, 60, true);
    v.setUint32(16, 60, true);
    block(6, body);
  }
  const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { bytes, want, common };
}

t.test('every resolution and offset converts exactly', (t) => {
  const { bytes, want, common } = build();
  const path = join(dir, 'ts.pcapng');
  writeFileSync(path, bytes);
  const r = openCapture(path);
  const got: string[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) got.push(`${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')}`);
  r.close();
  t.equal(got.length, want.length);
  let bad = 0;
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i] && bad++ < 5) t.fail(`record ${i} (resolution ${RESOLUTIONS[Math.floor((i % 33) / 3)]}): ${got[i]} != ${want[i]}`);
  }
  t.equal(bad, 0, `${want.length} timestamps`);

  const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.time_epoch'], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (ts.status === 0) {
    const theirs = ts.stdout.split('\n').filter((l) => l !== '');
    const idx = want.map((_, i) => i).filter((i) => common[i]);
    t.ok(idx.length > 300, `${idx.length} compared with tshark`);
    t.same(idx.map((i) => got[i]), idx.map((i) => theirs[i]), 'tshark agrees on µs and ns interfaces');
  }
  t.end();
});

/**
 * Position-passing byte writers for the dissect emitters: each takes a
 * DataView of the output buffer and a position, and returns the new position.
 * They store 2 or 4 bytes at a time from tables built at load (a literal as
 * 32-bit words, "hh:" per MAC byte, "ddd." per IPv4 octet, digit groups):
 * V8 compiles a DataView store to one machine store, where byte-by-byte
 * copying costs ~3x more. Small, so V8 inlines them into the emitters.
 *
 * Writers store up to 3 bytes past the position they return; ByteOut keeps
 * slack after its limit, and the next write overwrites them.
 */

/** A literal: [byte length, then the bytes as little-endian 32-bit words]. */
export type Lit = Uint32Array;

/** Encode a literal once at module load (ASCII only). */
export function lit(s: string): Lit {
  if (s.length === 0) throw new Error('empty literal');
  const k = new Uint32Array(1 + ((s.length + 3) >>> 2));
  k[0] = s.length;
  for (let i = 0; i < s.length; i++) k[1 + (i >>> 2)] |= (s.charCodeAt(i) & 0x7f) << (8 * (i & 3));
  return k;
}

export function wLit(d: DataView, p: number, k: Lit): number {
  // Unrolled for the usual 1-3 words: inlined per call site, the length tests always go one way.
  const n = k.length;
  d.setUint32(p, k[1], true);
  if (n > 2) {
    d.setUint32(p + 4, k[2], true);
    if (n > 3) {
      d.setUint32(p + 8, k[3], true);
      for (let i = 4, q = p + 12; i < n; i++, q += 4) d.setUint32(q, k[i], true);
    }
  }
  return p + k[0];
}

const ascii = (s: string): number => {
  let v = 0;
  for (let i = 0; i < s.length; i++) v |= s.charCodeAt(i) << (8 * i);
  return v >>> 0;
};

/** Decimal text of 0..999 (no leading zeros) as a word, its length, and the 3-digit padded form. */
const D_W = new Uint32Array(1000), D_L = new Uint8Array(1000), DZ_W = new Uint32Array(1000);
/** IPv4 octet text with its trailing dot ("10."), and that length. */
const O_W = new Uint32Array(256), O_L = new Uint8Array(256);
/** Two hex digits of a byte (LE 16-bit), and "hh:" for MACs. */
const HX = new Uint16Array(256), HXC = new Uint32Array(256);
/** One hex digit. */
const H1 = new Uint8Array(16);
for (let i = 0; i < 1000; i++) {
  const s = String(i);
  D_W[i] = ascii(s); D_L[i] = s.length; DZ_W[i] = ascii(s.padStart(3, '0'));
  if (i < 256) {
    O_W[i] = ascii(s + '.'); O_L[i] = s.length + 1;
    const h = i.toString(16).padStart(2, '0');
    HX[i] = ascii(h); HXC[i] = ascii(h + ':');
  }
  if (i < 16) H1[i] = i.toString(16).charCodeAt(0);
}

/** 0 <= n < 1000 without leading zeros. */
export function w3(d: DataView, p: number, n: number): number {
  d.setUint32(p, D_W[n], true);
  return p + D_L[n];
}

/** 0 <= n < 1000 as exactly 3 digits. */
export function w3z(d: DataView, p: number, n: number): number {
  d.setUint32(p, DZ_W[n], true);
  return p + 3;
}

/**
 * An integer (|n| < 2^53) in decimal. Below 10^6 one path for every length (the
 * 3 low digits are stored even when not used), so numbers growing past 999 (frame
 * numbers) meet no branch V8 compiled without feedback and deoptimised on.
 */
export function wDec(d: DataView, p: number, n: number): number {
  if (n < 1e6 && n >= 0) {
    const h = (n / 1000) | 0; // an integer multiply-shift once optimised
    const lo = n - h * 1000;
    const first = h === 0 ? lo : h;
    d.setUint32(p, D_W[first], true);
    p += D_L[first];
    d.setUint32(p, DZ_W[lo], true);
    return h === 0 ? p : p + 3;
  }
  return wDecLong(d, p, n);
}

function wDecLong(d: DataView, p: number, n: number): number {
  if (n < 1e12 && n >= 0) {
    // Seconds since 1970 (10 digits) land here once per frame.
    const g = Math.floor(n / 1e9);
    let r = n - g * 1e9;
    if (g !== 0) p = w3(d, p, g);
    const h = Math.floor(r / 1e6);
    r -= h * 1e6;
    const m = Math.floor(r / 1000);
    p = g !== 0 ? w3z(d, p, h) : w3(d, p, h);
    return w3z(d, w3z(d, p, m), r - m * 1000);
  }
  if (n < 0) { d.setUint8(p++, 45); n = -n; }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  p += digits;
  let q = p;
  while (n >= 10) { const t = Math.floor(n / 10); d.setUint8(--q, 48 + (n - t * 10)); n = t; }
  d.setUint8(--q, 48 + n);
  return p;
}

/**
 * Seconds of a timestamp (10 digits today) on one path for every frame: a branch
 * taken only when the second changes was compiled without feedback and cost a
 * deoptimisation of the emitter, more than computing the digits each time.
 */
export function wSec(d: DataView, p: number, n: number): number {
  if (n >= 1e6 && n < 1e12) {
    // Exact division only: V8 compiles n / 1e6 as integer division after seeing
    // 1700000000 / 1e6 = 1700, and deoptimises at the first second that does not divide.
    const l = n % 1e6;
    const h = (n - l) / 1e6;
    const m = (l / 1000) | 0;
    return w3z(d, w3z(d, wDec(d, p, h), m), l - m * 1000);
  }
  return wDec(d, p, n);
}

/** Exactly 9 digits (nanoseconds, 0 <= n < 10^9). */
export function wDec9(d: DataView, p: number, n: number): number {
  const a = Math.floor(n / 1e6);
  n -= a * 1e6;
  const b = Math.floor(n / 1000);
  return w3z(d, w3z(d, w3z(d, p, a), b), n - b * 1000);
}

/** Lower-case hex without padding (`toString(16)`) of a 32-bit unsigned value. */
export function wHex(d: DataView, p: number, n: number): number {
  if (n < 16) { d.setUint8(p, H1[n]); return p + 1; }
  if (n < 256) { d.setUint16(p, HX[n], true); return p + 2; }
  let digits = 1;
  for (let x = n >>> 4; x !== 0; x >>>= 4) digits++;
  p += digits;
  let q = p;
  for (let i = 0; i < digits; i++) { d.setUint8(--q, H1[n & 15]); n >>>= 4; }
  return p;
}

/** `0x0800` (hex16 of packet/ethernet.ts). */
export function wHex16(d: DataView, p: number, v: number): number {
  d.setUint16(p, 0x7830, true); // "0x"
  d.setUint16(p + 2, HX[(v >>> 8) & 0xff], true);
  d.setUint16(p + 4, HX[v & 0xff], true);
  return p + 6;
}

/** `aa:bb:cc:dd:ee:ff` from 6 bytes at `s`. */
export function wMac(d: DataView, p: number, b: Uint8Array, s: number): number {
  d.setUint32(p, HXC[b[s]], true); d.setUint32(p + 3, HXC[b[s + 1]], true); d.setUint32(p + 6, HXC[b[s + 2]], true);
  d.setUint32(p + 9, HXC[b[s + 3]], true); d.setUint32(p + 12, HXC[b[s + 4]], true); d.setUint16(p + 15, HX[b[s + 5]], true);
  return p + 17;
}

/** Dotted quad from 4 bytes at `s`. */
export function wIpv4(d: DataView, p: number, b: Uint8Array, s: number): number {
  let v = b[s]; d.setUint32(p, O_W[v], true); p += O_L[v];
  v = b[s + 1]; d.setUint32(p, O_W[v], true); p += O_L[v];
  v = b[s + 2]; d.setUint32(p, O_W[v], true); p += O_L[v];
  v = b[s + 3]; d.setUint32(p, O_W[v], true);
  return p + O_L[v] - 1;
}

/** RFC 5952 text of the 16 bytes at `s`, as formatIpv6At (packet/ipv6.ts) writes it. */
export function wIpv6(d: DataView, p: number, b: Uint8Array, s: number): number {
  // Longest run (>= 2) of zero words becomes "::" (first one on ties).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (b[s + 2 * i] !== 0 || b[s + 2 * i + 1] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && b[s + 2 * j] === 0 && b[s + 2 * j + 1] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best === 0 && bestLen === 5 && b[s + 10] === 0xff && b[s + 11] === 0xff) {
    d.setUint32(p, 0x6666_3a3a, true); d.setUint32(p + 4, 0x3a6666, true); // "::ffff:"
    return wIpv4(d, p + 7, b, s + 12);
  }
  for (let i = 0; i < 8; i++) {
    if (i === best) { d.setUint16(p, 0x3a3a, true); p += 2; i += bestLen - 1; continue; }
    if (i !== 0 && i !== best + bestLen) d.setUint8(p++, 58);
    p = wHex(d, p, (b[s + 2 * i] << 8) | b[s + 2 * i + 1]);
  }
  return p;
}

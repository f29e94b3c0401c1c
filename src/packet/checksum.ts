/**
 * Internet checksum (RFC 1071) and incremental update (RFC 1624): the one
 * checksum module of the TypeScript side (its C twin is
 * native-bindings/src/checksum.h). The fast-path stages use sumBytes /
 * sumWords + foldFast; codecs and tools use sum16 / internetChecksum.
 *
 * All functions work on 16-bit one's-complement sums kept as plain numbers;
 * `sum16` returns the unfolded 32-bit-ish accumulator so callers can chain
 * pseudo-header + payload sums without re-folding in between.
 */

/** Add the bytes [off, off+len) as big-endian 16-bit words to `acc`. Odd tail padded with zero. */
export function sum16(bytes: Uint8Array, off: number, len: number, acc = 0): number {
  let i = off;
  const end = off + len;
  const even = end - ((end - off) & 1);
  // Fold every 2^15 words so the accumulator stays well inside SMI/double-exact range.
  let n = 0;
  for (; i < even; i += 2) {
    acc += (bytes[i] << 8) | bytes[i + 1];
    if (++n === 32768) {
      acc = (acc & 0xffff) + (acc >>> 16);
      n = 0;
    }
  }
  if (i < end) acc += bytes[i] << 8;
  return acc;
}

/** Fold a running sum to 16 bits (end-around carry). */
export function fold16(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

/** One's-complement checksum of [off, off+len) with an optional initial sum. */
export function internetChecksum(bytes: Uint8Array, off: number, len: number, initial = 0): number {
  return ~fold16(sum16(bytes, off, len, initial)) & 0xffff;
}

/** True when the region, checksum field included, sums to 0xffff (i.e. verifies). */
export function checksumVerifies(bytes: Uint8Array, off: number, len: number, initial = 0): boolean {
  return fold16(sum16(bytes, off, len, initial)) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from m to m'.
 */
export function checksumUpdate16(oldChecksum: number, oldWord: number, newWord: number): number {
  const acc = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold16(acc) & 0xffff;
}

/** Same as checksumUpdate16 for a 32-bit field (two words). */
export function checksumUpdate32(oldChecksum: number, oldValue: number, newValue: number): number {
  const acc =
    (~oldChecksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) +
    (newValue & 0xffff);
  return ~fold16(acc) & 0xffff;
}

/** Sum of the IPv4 pseudo-header (src, dst, zero, proto, upper-layer length). */
export function pseudoHeaderSum4(bytes: Uint8Array, srcOff: number, dstOff: number, proto: number, upperLen: number): number {
  return sum16(bytes, srcOff, 4, sum16(bytes, dstOff, 4, proto + upperLen));
}

/** Sum of the IPv6 pseudo-header (src, dst, 32-bit length, next header). */
export function pseudoHeaderSum6(bytes: Uint8Array, srcOff: number, dstOff: number, next: number, upperLen: number): number {
  return sum16(bytes, srcOff, 16, sum16(bytes, dstOff, 16, next + (upperLen >>> 16) + (upperLen & 0xffff)));
}

/** Zero the 16-bit checksum field at `field`, compute the checksum of [off, off+len), store it there; returns it. */
export function fillChecksum(bytes: Uint8Array, field: number, off: number, len: number, initial = 0): number {
  bytes[field] = 0;
  bytes[field + 1] = 0;
  const c = internetChecksum(bytes, off, len, initial);
  bytes[field] = c >>> 8;
  bytes[field + 1] = c & 0xff;
  return c;
}

// ---------------------------------------------------------------- fast-path sums

/** One's-complement partial sum of d[off, off+len), 4 bytes per step (len < 64 KiB keeps it exact). */
export function sumBytes(d: Uint8Array, off: number, len: number): number {
  let a = 0;
  let b = 0;
  let i = off;
  const end4 = off + (len & ~3);
  for (; i < end4; i += 4) {
    a += (d[i] << 8) | d[i + 1];
    b += (d[i + 2] << 8) | d[i + 3];
  }
  const end = off + len;
  if (i + 2 <= end) {
    a += (d[i] << 8) | d[i + 1];
    i += 2;
  }
  if (i < end) b += d[i] << 8;
  return a + b;
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Same sum, reading aligned 32-bit words through `w32` (a view of d's buffer).
 * The one's-complement sum is byte-order independent (RFC 1071 2.B): words read
 * little-endian sum to the byte-swapped result, swapped back once at the end.
 */
export function sumWords(d: Uint8Array, w32: Int32Array, off: number, len: number): number {
  const base = d.byteOffset;
  if (((off | base) & 1) !== 0 || (base & 3) !== 0 || len < 8) return sumBytes(d, off, len);
  let i = off;
  const end = off + len;
  let be = 0;
  if ((i & 2) !== 0) {
    be = (d[i] << 8) | d[i + 1];
    i += 2;
  }
  // Int32 loads and two accumulators: measurably faster in V8 than Uint32 / one chain.
  let a = 0;
  let b = 0;
  const shift = base >>> 2;
  let w = (i >>> 2) + shift;
  const wEnd = (end >>> 2) + shift;
  for (; w + 1 < wEnd; w += 2) {
    const x = w32[w];
    const y = w32[w + 1];
    a += (x & 0xffff) + (x >>> 16);
    b += (y & 0xffff) + (y >>> 16);
  }
  if (w < wEnd) {
    const x = w32[w];
    a += (x & 0xffff) + (x >>> 16);
  }
  i = end & ~3;
  let le = a + b;
  if (LITTLE_ENDIAN) {
    le = foldFast(le);
    le = ((le & 0xff) << 8) | (le >>> 8);
  }
  return be + le + sumBytes(d, i, end - i);
}

/** Fold a sum below 2^48 to 16 bits in three steps (the fast paths' fold16). */
export function foldFast(s: number): number {
  s = (s & 0xffff) + Math.floor(s / 65536);
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

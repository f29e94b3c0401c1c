/**
 * GRE (RFC 2784, key and sequence number extensions RFC 2890).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |C|R|K|S| Reserved0       | Ver |         Protocol Type         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      Checksum (optional)      |       Reserved1 (Optional)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                         Key (optional)                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 Sequence Number (Optional)                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Only version 0 is decoded (version 1 is PPTP's enhanced GRE). R (RFC 1701
 * source routing) is refused as bad-flags: RFC 2784 deprecates it and its
 * variable SRE list is not worth carrying. Protocol 0x6558 carries Ethernet,
 * 0x0800 / 0x86dd IP. NVGRE (K=1, C=0, S=0, 0x6558) has its own codec.
 */
import { TRUNCATED, BAD_VERSION, BAD_FLAGS } from './decode-error.js';
import { fillChecksum } from './checksum.js';

export const GreFlag = { C: 0x8000, R: 0x4000, K: 0x2000, S: 0x1000 } as const;

export class GreState {
  /** The first 16-bit word: flags and version. */
  flags = 0;
  version = 0;
  protocol = 0;
  checksumPresent = false;
  keyPresent = false;
  seqPresent = false;
  checksum = 0;
  /** Key and sequence as unsigned 32-bit numbers (0 when absent). */
  key = 0;
  seq = 0;
}

export function decodeGre(b: Uint8Array, off: number, end: number, out: GreState): number {
  if (off + 4 > end) return TRUNCATED;
  const f = (b[off] << 8) | b[off + 1];
  out.flags = f;
  out.version = f & 7;
  out.protocol = (b[off + 2] << 8) | b[off + 3];
  const c = (f & 0x8000) !== 0;
  const k = (f & 0x2000) !== 0;
  const s = (f & 0x1000) !== 0;
  out.checksumPresent = c;
  out.keyPresent = k;
  out.seqPresent = s;
  if ((f & 7) !== 0) return BAD_VERSION;
  if ((f & 0x4000) !== 0) return BAD_FLAGS;
  let p = off + 4;
  const len = 4 + (c ? 4 : 0) + (k ? 4 : 0) + (s ? 4 : 0);
  if (off + len > end) return TRUNCATED;
  if (c) {
    out.checksum = (b[p] << 8) | b[p + 1];
    p += 4;
  } else out.checksum = 0;
  if (k) {
    out.key = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    p += 4;
  } else out.key = 0;
  out.seq = s ? ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0 : 0;
  return len;
}

/** Header length for a flag combination. */
export function greHeaderLength(checksum: boolean, key: boolean, seq: boolean): number {
  return 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (seq ? 4 : 0);
}

/**
 * Write a version-0 header; the checksum field (when present) is zeroed: fill it
 * with greFillChecksum once the payload is in place. Returns the header length.
 */
export function writeGre(
  b: Uint8Array, off: number, protocol: number,
  checksum: boolean, key: boolean, keyValue: number, seq: boolean, seqValue: number,
): number {
  const f = (checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) | (seq ? 0x1000 : 0);
  b[off] = f >>> 8;
  b[off + 1] = 0;
  b[off + 2] = (protocol >>> 8) & 0xff;
  b[off + 3] = protocol & 0xff;
  let p = off + 4;
  if (checksum) {
    b[p] = b[p + 1] = b[p + 2] = b[p + 3] = 0;
    p += 4;
  }
  if (key) p = writeU32(b, p, keyValue);
  if (seq) p = writeU32(b, p, seqValue);
  return p - off;
}

/** Checksum over the GRE header and payload [off, off+len), stored in the header (C must be set). */
export function greFillChecksum(b: Uint8Array, off: number, len: number): number {
  return fillChecksum(b, off + 4, off, len);
}

function writeU32(b: Uint8Array, p: number, v: number): number {
  b[p] = v >>> 24; b[p + 1] = (v >>> 16) & 0xff; b[p + 2] = (v >>> 8) & 0xff; b[p + 3] = v & 0xff;
  return p + 4;
}

/**
 * IPv4 header (RFC 791).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Identification        |Flags|      Fragment Offset    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       Source Address                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Destination Address                        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Options (IHL > 5)                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The decoder does not verify the checksum (callers that care call
 * `ipv4ChecksumOk`, so a pure walk stays cheap).
 */
import { TRUNCATED, BAD_VERSION, BAD_HEADER_LENGTH, BAD_LENGTH } from './decode-error.js';
import { checksumVerifies, fillChecksum } from './checksum.js';

export const IPV4_MIN_HEADER_LEN = 20;

export const IpProto = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
} as const;

export class Ipv4State {
  /** Header length in bytes (IHL * 4). */
  headerLength = 0;
  tos = 0;
  totalLength = 0;
  id = 0;
  df = 0;
  mf = 0;
  /** Fragment offset in 8-byte units. */
  fragOffset = 0;
  ttl = 0;
  proto = 0;
  checksum = 0;
  /** Addresses as unsigned 32-bit numbers. */
  src = 0;
  dst = 0;
}

export function decodeIpv4(b: Uint8Array, off: number, end: number, out: Ipv4State): number {
  if (off + IPV4_MIN_HEADER_LEN > end) return TRUNCATED;
  const v = b[off];
  if (v >>> 4 !== 4) return BAD_VERSION;
  const hl = (v & 15) << 2;
  if (hl < IPV4_MIN_HEADER_LEN) return BAD_HEADER_LENGTH;
  if (off + hl > end) return TRUNCATED;
  const total = (b[off + 2] << 8) | b[off + 3];
  if (total < hl) return BAD_LENGTH;
  out.headerLength = hl;
  out.tos = b[off + 1];
  out.totalLength = total;
  out.id = (b[off + 4] << 8) | b[off + 5];
  const ff = (b[off + 6] << 8) | b[off + 7];
  out.df = (ff >>> 14) & 1;
  out.mf = (ff >>> 13) & 1;
  out.fragOffset = ff & 0x1fff;
  out.ttl = b[off + 8];
  out.proto = b[off + 9];
  out.checksum = (b[off + 10] << 8) | b[off + 11];
  out.src = ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0;
  out.dst = ((b[off + 16] << 24) | (b[off + 17] << 16) | (b[off + 18] << 8) | b[off + 19]) >>> 0;
  return hl;
}

/** True when the header checksum of the header at `off` verifies. */
export function ipv4ChecksumOk(b: Uint8Array, off: number, headerLength: number): boolean {
  return checksumVerifies(b, off, headerLength);
}

/** Compute and store the header checksum of the header at `off`; returns it. */
export function ipv4FillChecksum(b: Uint8Array, off: number, headerLength: number): number {
  return fillChecksum(b, off + 10, off, headerLength);
}

/**
 * Write a 20-byte header (no options) with its checksum; returns 20.
 * `flagsFrag` = the 16-bit flags + fragment offset word (0x4000 for DF).
 */
export function writeIpv4(
  b: Uint8Array, off: number, tos: number, totalLength: number, id: number, flagsFrag: number,
  ttl: number, proto: number, src: number, dst: number,
): number {
  b[off] = 0x45;
  b[off + 1] = tos & 0xff;
  b[off + 2] = (totalLength >>> 8) & 0xff; b[off + 3] = totalLength & 0xff;
  b[off + 4] = (id >>> 8) & 0xff; b[off + 5] = id & 0xff;
  b[off + 6] = (flagsFrag >>> 8) & 0xff; b[off + 7] = flagsFrag & 0xff;
  b[off + 8] = ttl & 0xff;
  b[off + 9] = proto & 0xff;
  writeU32(b, off + 12, src);
  writeU32(b, off + 16, dst);
  ipv4FillChecksum(b, off, IPV4_MIN_HEADER_LEN);
  return IPV4_MIN_HEADER_LEN;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24; b[off + 1] = (v >>> 16) & 0xff; b[off + 2] = (v >>> 8) & 0xff; b[off + 3] = v & 0xff;
}

/** Dotted quad from bytes (slow path). */
export function formatIpv4At(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Dotted quad from a u32 (slow path). */
export function formatIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/** Parse a dotted quad into a u32; throws on bad input (config path). */
export function parseIpv4(s: string): number {
  const p = s.split('.');
  if (p.length !== 4 || !p.every((x) => /^\d{1,3}$/.test(x) && +x <= 255)) throw new RangeError(`not an IPv4 address: ${s}`);
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

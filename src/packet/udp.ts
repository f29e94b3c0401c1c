/**
 * UDP header (RFC 768).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |            Length             |           Checksum            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Checksum 0 means "none" over IPv4; over IPv6 it is only legal in the
 * RFC 6935/6936 zero-checksum tunnel mode (the decap stage decides).
 */
import { TRUNCATED, BAD_LENGTH } from './decode-error.js';
import { fold16, pseudoHeaderSum4, pseudoHeaderSum6, sum16 } from './checksum.js';

export const UDP_HEADER_LEN = 8;

export class UdpState {
  sport = 0;
  dport = 0;
  length = 0;
  checksum = 0;
}

export function decodeUdp(b: Uint8Array, off: number, end: number, out: UdpState): number {
  if (off + UDP_HEADER_LEN > end) return TRUNCATED;
  out.sport = (b[off] << 8) | b[off + 1];
  out.dport = (b[off + 2] << 8) | b[off + 3];
  const len = (b[off + 4] << 8) | b[off + 5];
  out.length = len;
  out.checksum = (b[off + 6] << 8) | b[off + 7];
  if (len < UDP_HEADER_LEN) return BAD_LENGTH;
  return UDP_HEADER_LEN;
}

/** Write the header with checksum 0 (fill it later with udpFillChecksum4/6 if wanted); returns 8. */
export function writeUdp(b: Uint8Array, off: number, sport: number, dport: number, length: number): number {
  b[off] = (sport >>> 8) & 0xff; b[off + 1] = sport & 0xff;
  b[off + 2] = (dport >>> 8) & 0xff; b[off + 3] = dport & 0xff;
  b[off + 4] = (length >>> 8) & 0xff; b[off + 5] = length & 0xff;
  b[off + 6] = 0; b[off + 7] = 0;
  return UDP_HEADER_LEN;
}

/** Compute the checksum of the datagram at `udpOff` (length from its header) under the IPv4 header at `ipOff`. */
export function udpFillChecksum4(b: Uint8Array, ipOff: number, udpOff: number): number {
  const len = (b[udpOff + 4] << 8) | b[udpOff + 5];
  b[udpOff + 6] = 0; b[udpOff + 7] = 0;
  let c = ~fold16(sum16(b, udpOff, len, pseudoHeaderSum4(b, ipOff + 12, ipOff + 16, 17, len))) & 0xffff;
  if (c === 0) c = 0xffff; // 0 would mean "no checksum"
  b[udpOff + 6] = c >>> 8; b[udpOff + 7] = c & 0xff;
  return c;
}

/** Same over an IPv6 header at `ipOff` (addresses at +8 / +24). */
export function udpFillChecksum6(b: Uint8Array, ipOff: number, udpOff: number): number {
  const len = (b[udpOff + 4] << 8) | b[udpOff + 5];
  b[udpOff + 6] = 0; b[udpOff + 7] = 0;
  let c = ~fold16(sum16(b, udpOff, len, pseudoHeaderSum6(b, ipOff + 8, ipOff + 24, 17, len))) & 0xffff;
  if (c === 0) c = 0xffff;
  b[udpOff + 6] = c >>> 8; b[udpOff + 7] = c & 0xff;
  return c;
}

/** True when the datagram's checksum verifies (or is 0 = absent) over IPv4. Needs the whole datagram captured. */
export function udpChecksumOk4(b: Uint8Array, ipOff: number, udpOff: number): boolean {
  const len = (b[udpOff + 4] << 8) | b[udpOff + 5];
  if (((b[udpOff + 6] << 8) | b[udpOff + 7]) === 0) return true;
  return fold16(sum16(b, udpOff, len, pseudoHeaderSum4(b, ipOff + 12, ipOff + 16, 17, len))) === 0xffff;
}

/** Same over IPv6 (a zero checksum does NOT verify here: zero-checksum mode is the caller's choice). */
export function udpChecksumOk6(b: Uint8Array, ipOff: number, udpOff: number): boolean {
  const len = (b[udpOff + 4] << 8) | b[udpOff + 5];
  return fold16(sum16(b, udpOff, len, pseudoHeaderSum6(b, ipOff + 8, ipOff + 24, 17, len))) === 0xffff;
}

/**
 * ARP (RFC 826). Addresses are decoded for Ethernet/IPv4 (htype 1, ptype 0x0800,
 * hlen 6, plen 4); other hardware/protocol pairs report their lengths only.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Hardware type          |        Protocol type          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |    HLEN       |     PLEN      |          Operation            |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  Sender hardware address (HLEN) | Sender protocol addr (PLEN) |
 *  |  Target hardware address (HLEN) | Target protocol addr (PLEN) |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { TRUNCATED } from './decode-error.js';
import { writeMac } from './ethernet.js';

export const ARP_ETH_IPV4_LEN = 28;

export class ArpState {
  htype = 0;
  ptype = 0;
  hlen = 0;
  plen = 0;
  op = 0;
  /** Ethernet/IPv4 only (else 0): MACs as hi16/lo32, IPv4 addresses as u32. */
  shaHi = 0;
  shaLo = 0;
  spa = 0;
  thaHi = 0;
  thaLo = 0;
  tpa = 0;
  /** True when the addresses above were decoded (Ethernet/IPv4 ARP). */
  ethIpv4 = false;
}

export function decodeArp(b: Uint8Array, off: number, end: number, out: ArpState): number {
  if (off + 8 > end) return TRUNCATED;
  out.htype = (b[off] << 8) | b[off + 1];
  out.ptype = (b[off + 2] << 8) | b[off + 3];
  const hl = b[off + 4];
  const pl = b[off + 5];
  out.hlen = hl;
  out.plen = pl;
  out.op = (b[off + 6] << 8) | b[off + 7];
  const len = 8 + 2 * (hl + pl);
  if (off + len > end) return TRUNCATED;
  out.ethIpv4 = hl === 6 && pl === 4;
  if (out.ethIpv4) {
    const s = off + 8;
    out.shaHi = (b[s] << 8) | b[s + 1];
    out.shaLo = ((b[s + 2] << 24) | (b[s + 3] << 16) | (b[s + 4] << 8) | b[s + 5]) >>> 0;
    out.spa = ((b[s + 6] << 24) | (b[s + 7] << 16) | (b[s + 8] << 8) | b[s + 9]) >>> 0;
    out.thaHi = (b[s + 10] << 8) | b[s + 11];
    out.thaLo = ((b[s + 12] << 24) | (b[s + 13] << 16) | (b[s + 14] << 8) | b[s + 15]) >>> 0;
    out.tpa = ((b[s + 16] << 24) | (b[s + 17] << 16) | (b[s + 18] << 8) | b[s + 19]) >>> 0;
  } else {
    out.shaHi = out.shaLo = out.spa = out.thaHi = out.thaLo = out.tpa = 0;
  }
  return len;
}

/** Write an Ethernet/IPv4 ARP body (28 bytes); returns 28. */
export function writeArp(
  b: Uint8Array, off: number, op: number,
  shaHi: number, shaLo: number, spa: number, thaHi: number, thaLo: number, tpa: number,
): number {
  b[off] = 0; b[off + 1] = 1; // Ethernet
  b[off + 2] = 0x08; b[off + 3] = 0x00; // IPv4
  b[off + 4] = 6; b[off + 5] = 4;
  b[off + 6] = (op >>> 8) & 0xff; b[off + 7] = op & 0xff;
  writeMac(b, off + 8, shaHi, shaLo);
  writeU32(b, off + 14, spa);
  writeMac(b, off + 18, thaHi, thaLo);
  writeU32(b, off + 24, tpa);
  return ARP_ETH_IPV4_LEN;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24; b[off + 1] = (v >>> 16) & 0xff; b[off + 2] = (v >>> 8) & 0xff; b[off + 3] = v & 0xff;
}

/**
 * MPLS label stack entries (RFC 3032) and the Ethernet pseudowire control word
 * (RFC 4448 / RFC 4385), as far as a decoder needs them to reach the payload.
 *
 *   label stack entry: label(20) TC(3) S(1) TTL(8)      S = bottom of stack
 *   control word:      0000 flags(4) FRG(2) length(6) sequence(16)
 *
 * What follows the bottom of the stack is not announced by any header; the
 * first nibble is the usual guess (RFC 4928): 4 IPv4, 6 IPv6, 0 a PW control
 * word then Ethernet, 1 a PW associated channel (not decoded), else Ethernet
 * with no control word.
 */
import { TRUNCATED } from './decode-error.js';

export const MPLS_ETHERTYPE = 0x8847;
export const MPLS_MC_ETHERTYPE = 0x8848;
export const MPLS_ENTRY_LEN = 4;
export const PW_CW_LEN = 4;

export class MplsState {
  label = 0;
  tc = 0;
  /** Bottom of stack: 1 on the last entry. */
  bos = 0;
  ttl = 0;
}

export function decodeMpls(b: Uint8Array, off: number, end: number, out: MplsState): number {
  if (off + MPLS_ENTRY_LEN > end) return TRUNCATED;
  out.label = (b[off] << 12) | (b[off + 1] << 4) | (b[off + 2] >>> 4);
  out.tc = (b[off + 2] >>> 1) & 7;
  out.bos = b[off + 2] & 1;
  out.ttl = b[off + 3];
  return MPLS_ENTRY_LEN;
}

/** Write one label stack entry; returns 4. */
export function writeMpls(b: Uint8Array, off: number, label: number, tc: number, bos: boolean, ttl: number): number {
  b[off] = label >>> 12;
  b[off + 1] = (label >>> 4) & 0xff;
  b[off + 2] = ((label & 15) << 4) | ((tc & 7) << 1) | (bos ? 1 : 0);
  b[off + 3] = ttl;
  return MPLS_ENTRY_LEN;
}

export class PwCwState {
  flags = 0;
  frg = 0;
  length = 0;
  seq = 0;
}

export function decodePwCw(b: Uint8Array, off: number, end: number, out: PwCwState): number {
  if (off + PW_CW_LEN > end) return TRUNCATED;
  out.flags = b[off] & 15;
  out.frg = b[off + 1] >>> 6;
  out.length = b[off + 1] & 0x3f;
  out.seq = (b[off + 2] << 8) | b[off + 3];
  return PW_CW_LEN;
}

/**
 * VXLAN header (RFC 7348), UDP destination port 4789.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |R|R|R|R|I|R|R|R|            Reserved                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                VXLAN Network Identifier (VNI) |   Reserved    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The decoder reports flags as they are; whether a missing I bit drops the
 * frame is the decap stage's decision (RFC 7348 §5), not the codec's.
 */
import { TRUNCATED } from './decode-error.js';

export const VXLAN_HEADER_LEN = 8;
export const VXLAN_PORT = 4789;
export const VXLAN_FLAG_I = 0x08;

export class VxlanState {
  flags = 0;
  vni = 0;
}

export function decodeVxlan(b: Uint8Array, off: number, end: number, out: VxlanState): number {
  if (off + VXLAN_HEADER_LEN > end) return TRUNCATED;
  out.flags = b[off];
  out.vni = (b[off + 4] << 16) | (b[off + 5] << 8) | b[off + 6];
  return VXLAN_HEADER_LEN;
}

/** Write a header with the I flag and `vni`; returns 8. */
export function writeVxlan(b: Uint8Array, off: number, vni: number): number {
  b[off] = VXLAN_FLAG_I;
  b[off + 1] = b[off + 2] = b[off + 3] = 0;
  b[off + 4] = (vni >>> 16) & 0xff;
  b[off + 5] = (vni >>> 8) & 0xff;
  b[off + 6] = vni & 0xff;
  b[off + 7] = 0;
  return VXLAN_HEADER_LEN;
}

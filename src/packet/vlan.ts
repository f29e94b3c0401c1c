/**
 * IEEE 802.1Q / 802.1ad VLAN tag. The TPID (0x8100 C-tag, 0x88a8 S-tag, 0x9100
 * pre-standard S-tag) is the EtherType of the header in front, so this codec
 * starts at the TCI, like every codec here starts after its "type" field.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  TPID (previous header)       | PCP |D|         VID           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |      Inner EtherType          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Tags stack to any depth: the walker loops while the inner type is a TPID.
 */
import { TRUNCATED } from './decode-error.js';

export const VLAN_TAG_LEN = 4;

export class VlanState {
  pcp = 0;
  dei = 0;
  vid = 0;
  /** EtherType after the tag (may be another TPID). */
  type = 0;
}

/** True for 0x8100, 0x88a8 and 0x9100. */
export function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100;
}

/** Decode the TCI + inner type at `off`; returns 4. */
export function decodeVlan(b: Uint8Array, off: number, end: number, out: VlanState): number {
  if (off + VLAN_TAG_LEN > end) return TRUNCATED;
  const tci = (b[off] << 8) | b[off + 1];
  out.pcp = tci >>> 13;
  out.dei = (tci >>> 12) & 1;
  out.vid = tci & 0xfff;
  out.type = (b[off + 2] << 8) | b[off + 3];
  return VLAN_TAG_LEN;
}

/** Write TCI + inner type at `off`; returns 4. */
export function writeVlan(b: Uint8Array, off: number, pcp: number, dei: number, vid: number, type: number): number {
  const tci = ((pcp & 7) << 13) | ((dei & 1) << 12) | (vid & 0xfff);
  b[off] = tci >>> 8;
  b[off + 1] = tci & 0xff;
  b[off + 2] = (type >>> 8) & 0xff;
  b[off + 3] = type & 0xff;
  return VLAN_TAG_LEN;
}

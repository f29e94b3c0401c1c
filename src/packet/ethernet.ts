/**
 * Ethernet II and IEEE 802.3 (length) frames.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Destination MAC address                    |
 *  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                               |                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *  |                      Source MAC address                       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | EtherType >= 0x0600, or       |
 *  | 802.3 length <= 1500          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * 802.3 frames go on with LLC (DSAP, SSAP, control: 1 byte for U frames, 2
 * for I/S frames) and, when DSAP = SSAP = 0xAA, SNAP (OUI, EtherType).
 */
import { TRUNCATED, BAD_LENGTH } from './decode-error.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q C-tag
  QINQ: 0x88a8, // 802.1ad S-tag
  QINQ_OLD: 0x9100, // pre-standard S-tag
  IPV6: 0x86dd,
  TEB: 0x6558, // transparent Ethernet bridging (GRE/GENEVE payload)
} as const;

export const ETH_HEADER_LEN = 14;

/** Reused decode state. MACs as two words: hi = first 2 bytes, lo = last 4 bytes (u32). */
export class EthernetState {
  dstHi = 0;
  dstLo = 0;
  srcHi = 0;
  srcLo = 0;
  /** EtherType (Ethernet II, or the SNAP type of an 802.3 frame); 0 when none. */
  type = 0;
  /** 802.3 length field, or -1 for Ethernet II. */
  length8023 = -1;
  /** LLC fields of an 802.3 frame: valid only when length8023 >= 0 (not reset for Ethernet II, to keep the common path short). */
  dsap = -1;
  ssap = -1;
  control = -1;
}

/** High 16 bits of the MAC at `off`. */
export function macHi(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

/** Low 32 bits of the MAC at `off`, as an unsigned number. */
export function macLo(b: Uint8Array, off: number): number {
  return ((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0;
}

export function decodeEthernet(b: Uint8Array, off: number, end: number, out: EthernetState): number {
  if (off + ETH_HEADER_LEN > end) return TRUNCATED;
  out.dstHi = (b[off] << 8) | b[off + 1];
  out.dstLo = ((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0;
  out.srcHi = (b[off + 6] << 8) | b[off + 7];
  out.srcLo = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
  const t = (b[off + 12] << 8) | b[off + 13];
  if (t >= 0x0600) {
    out.type = t;
    out.length8023 = -1;
    return ETH_HEADER_LEN;
  }
  return decode8023(b, off, end, t, out);
}

// Cold path kept out of decodeEthernet so the common case stays small and inlinable.
function decode8023(b: Uint8Array, off: number, end: number, len: number, out: EthernetState): number {
  out.type = 0;
  out.length8023 = len;
  out.dsap = out.ssap = out.control = -1;
  if (len > 1500) return BAD_LENGTH; // 1501..1535 is neither a length nor a type
  const llc = off + ETH_HEADER_LEN;
  if (llc + 3 > end) return TRUNCATED;
  out.dsap = b[llc];
  out.ssap = b[llc + 1];
  const c = b[llc + 2];
  if ((c & 3) !== 3) {
    if (llc + 4 > end) return TRUNCATED;
    out.control = (c << 8) | b[llc + 3];
    return ETH_HEADER_LEN + 4;
  }
  out.control = c;
  if (out.dsap === 0xaa && out.ssap === 0xaa) {
    if (llc + 8 > end) return TRUNCATED;
    out.type = (b[llc + 6] << 8) | b[llc + 7];
    return ETH_HEADER_LEN + 8;
  }
  return ETH_HEADER_LEN + 3;
}

/** Write a 14-byte Ethernet II header; returns 14. */
export function writeEthernet(b: Uint8Array, off: number, dstHi: number, dstLo: number, srcHi: number, srcLo: number, type: number): number {
  writeMac(b, off, dstHi, dstLo);
  writeMac(b, off + 6, srcHi, srcLo);
  b[off + 12] = type >>> 8;
  b[off + 13] = type & 0xff;
  return ETH_HEADER_LEN;
}

export function writeMac(b: Uint8Array, off: number, hi: number, lo: number): void {
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 0xff;
  b[off + 4] = (lo >>> 8) & 0xff;
  b[off + 5] = lo & 0xff;
}

// --- slow-path helpers (allocate strings: formatting, tests, config) ---

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `aa:bb:cc:dd:ee:ff` from bytes. */
export function formatMacAt(b: Uint8Array, off: number): string {
  return `${HEX[b[off]]}:${HEX[b[off + 1]]}:${HEX[b[off + 2]]}:${HEX[b[off + 3]]}:${HEX[b[off + 4]]}:${HEX[b[off + 5]]}`;
}

/** `aa:bb:cc:dd:ee:ff` from the two-word form. */
export function formatMac(hi: number, lo: number): string {
  return `${HEX[(hi >>> 8) & 0xff]}:${HEX[hi & 0xff]}:${HEX[lo >>> 24]}:${HEX[(lo >>> 16) & 0xff]}:${HEX[(lo >>> 8) & 0xff]}:${HEX[lo & 0xff]}`;
}

/** Parse `aa:bb:cc:dd:ee:ff` (or `-` separated) into [hi, lo]; throws on bad input. */
export function parseMac(s: string): [number, number] {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) throw new RangeError(`not a MAC address: ${s}`);
  const v = m.slice(1).map((h) => parseInt(h, 16));
  return [(v[0] << 8) | v[1], ((v[2] << 24) | (v[3] << 16) | (v[4] << 8) | v[5]) >>> 0];
}

/** `0x6558` style (4 hex digits). */
export function hex16(v: number): string {
  return '0x' + HEX[(v >>> 8) & 0xff] + HEX[v & 0xff];
}

export { HEX as HEX_BYTE };

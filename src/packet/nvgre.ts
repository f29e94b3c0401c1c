/**
 * NVGRE (RFC 7637): GRE version 0 with K=1, C=0, S=0 and protocol 0x6558,
 * whose key is split into a 24-bit Virtual Subnet ID and an 8-bit FlowID.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |0| |1|0|   Reserved0     | Ver |   Protocol Type 0x6558        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               Virtual Subnet ID (VSID)        |    FlowID     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Anything else (C, R or S set, K clear, version != 0, another protocol)
 * is bad-flags / bad-version: such a frame is plain GRE, not NVGRE.
 */
import { TRUNCATED, BAD_VERSION, BAD_FLAGS } from './decode-error.js';

export const NVGRE_HEADER_LEN = 8;
export const NVGRE_PROTOCOL = 0x6558;

export class NvgreState {
  vsid = 0;
  flowId = 0;
}

/** True when the 4-byte GRE base header at `off` is an NVGRE one (caller checked 4 bytes exist). */
export function isNvgre(b: Uint8Array, off: number): boolean {
  // flags: C=0 R=0 K=1 S=0, reserved0 and version ignored/0; protocol 0x6558.
  return (b[off] & 0xf0) === 0x20 && (b[off + 1] & 7) === 0 && b[off + 2] === 0x65 && b[off + 3] === 0x58;
}

export function decodeNvgre(b: Uint8Array, off: number, end: number, out: NvgreState): number {
  if (off + NVGRE_HEADER_LEN > end) return TRUNCATED;
  if ((b[off + 1] & 7) !== 0) return BAD_VERSION;
  if ((b[off] & 0xf0) !== 0x20 || b[off + 2] !== 0x65 || b[off + 3] !== 0x58) return BAD_FLAGS;
  out.vsid = (b[off + 4] << 16) | (b[off + 5] << 8) | b[off + 6];
  out.flowId = b[off + 7];
  return NVGRE_HEADER_LEN;
}

/** Write an NVGRE header; returns 8. */
export function writeNvgre(b: Uint8Array, off: number, vsid: number, flowId: number): number {
  b[off] = 0x20;
  b[off + 1] = 0;
  b[off + 2] = 0x65;
  b[off + 3] = 0x58;
  b[off + 4] = (vsid >>> 16) & 0xff;
  b[off + 5] = (vsid >>> 8) & 0xff;
  b[off + 6] = vsid & 0xff;
  b[off + 7] = flowId & 0xff;
  return NVGRE_HEADER_LEN;
}

/**
 * GENEVE header (RFC 8926), UDP destination port 6081.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |        Virtual Network Identifier (VNI)       |    Reserved   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    Variable-Length Options                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Each option TLV:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Option Class         |C|    Type     |R|R|R| Length  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 Variable-Length Option Data                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Opt Len and option Length count 4-byte words (the header's, without the
 * fixed 8 bytes; the option's, without its 4-byte TLV header). The C bit in
 * the fixed header says a critical option (type bit 0x80) is present: a
 * receiver that does not understand one must drop the frame (§3.5).
 * Options land in preallocated typed arrays (at most 63 fit in 252 bytes).
 */
import { TRUNCATED, BAD_VERSION, BAD_OPTION_LENGTH } from './decode-error.js';

export const GENEVE_HEADER_LEN = 8;
export const GENEVE_PORT = 6081;
export const GENEVE_MAX_OPTIONS = 63;

export class GeneveState {
  version = 0;
  /** Options length in BYTES (Opt Len * 4). */
  optLength = 0;
  oam = 0;
  critical = 0;
  protocol = 0;
  vni = 0;
  optCount = 0;
  /** Options that have the critical type bit set. */
  criticalOptCount = 0;
  readonly optClass = new Uint16Array(GENEVE_MAX_OPTIONS);
  readonly optType = new Uint8Array(GENEVE_MAX_OPTIONS);
  /** Option DATA length in bytes (Length * 4). */
  readonly optDataLength = new Uint8Array(GENEVE_MAX_OPTIONS);
  /** Offset of the option's data from the GENEVE header start. */
  readonly optDataOffset = new Uint16Array(GENEVE_MAX_OPTIONS);
}

export function decodeGeneve(b: Uint8Array, off: number, end: number, out: GeneveState): number {
  if (off + GENEVE_HEADER_LEN > end) return TRUNCATED;
  const b0 = b[off];
  const b1 = b[off + 1];
  out.version = b0 >>> 6;
  const optLen = (b0 & 0x3f) << 2;
  out.optLength = optLen;
  out.oam = b1 >>> 7;
  out.critical = (b1 >>> 6) & 1;
  out.protocol = (b[off + 2] << 8) | b[off + 3];
  out.vni = (b[off + 4] << 16) | (b[off + 5] << 8) | b[off + 6];
  out.optCount = 0;
  out.criticalOptCount = 0;
  // A later version may lay its options out differently: do not guess.
  if (b0 >>> 6 !== 0) return BAD_VERSION;
  const len = GENEVE_HEADER_LEN + optLen;
  if (off + len > end) return TRUNCATED;
  if (optLen !== 0) return decodeOptions(b, off, len, out);
  return len;
}

function decodeOptions(b: Uint8Array, off: number, len: number, out: GeneveState): number {
  const stop = off + len;
  let p = off + GENEVE_HEADER_LEN;
  let n = 0;
  let crit = 0;
  while (p < stop) {
    if (p + 4 > stop) return BAD_OPTION_LENGTH;
    const t = b[p + 2];
    const dl = (b[p + 3] & 0x1f) << 2;
    if (p + 4 + dl > stop) return BAD_OPTION_LENGTH;
    out.optClass[n] = (b[p] << 8) | b[p + 1];
    out.optType[n] = t;
    out.optDataLength[n] = dl;
    out.optDataOffset[n] = p + 4 - off;
    if (t & 0x80) crit++;
    n++;
    p += 4 + dl;
  }
  out.optCount = n;
  out.criticalOptCount = crit;
  return len;
}

/**
 * Write the fixed header followed by `optLen` bytes of ready-made options
 * copied from `opts[optOff..]` (build them once with writeGeneveOption).
 * `optLen` must be a multiple of 4, at most 252. Returns 8 + optLen.
 */
export function writeGeneve(
  b: Uint8Array, off: number, vni: number, protocol: number, oam: number, critical: number,
  opts: Uint8Array | null, optOff: number, optLen: number,
): number {
  b[off] = (optLen >>> 2) & 0x3f;
  b[off + 1] = ((oam & 1) << 7) | ((critical & 1) << 6);
  b[off + 2] = (protocol >>> 8) & 0xff;
  b[off + 3] = protocol & 0xff;
  b[off + 4] = (vni >>> 16) & 0xff;
  b[off + 5] = (vni >>> 8) & 0xff;
  b[off + 6] = vni & 0xff;
  b[off + 7] = 0;
  for (let i = 0; i < optLen; i++) b[off + 8 + i] = opts === null ? 0 : opts[optOff + i];
  return GENEVE_HEADER_LEN + optLen;
}

/** Write one option TLV; `dataLen` a multiple of 4 (<= 124). Returns 4 + dataLen. */
export function writeGeneveOption(
  b: Uint8Array, off: number, optClass: number, type: number,
  data: Uint8Array | null, dataOff: number, dataLen: number,
): number {
  b[off] = (optClass >>> 8) & 0xff;
  b[off + 1] = optClass & 0xff;
  b[off + 2] = type & 0xff;
  b[off + 3] = (dataLen >>> 2) & 0x1f;
  for (let i = 0; i < dataLen; i++) b[off + 4 + i] = data === null ? 0 : data[dataOff + i];
  return 4 + dataLen;
}

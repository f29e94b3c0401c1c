/**
 * IPv6 header (RFC 8200) and the walk over its extension headers.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version| Traffic Class |           Flow Label                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                  Source Address (128 bits, offset 8)          |
 *  |               Destination Address (128 bits, offset 24)       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Extension headers skipped to the upper layer: hop-by-hop (0), routing (43),
 * destination options (60), mobility (135), HIP (139), shim6 (140): length
 * (Hdr Ext Len + 1) * 8; AH (51): (Payload Len + 2) * 4; fragment (44): 8
 * bytes, whose offset/M flag tell a first fragment from a later one. ESP (50)
 * and anything else end the walk: `upper` names it.
 *
 * Addresses are not copied: they are the 16 bytes at off+8 and off+24.
 */
import { TRUNCATED, BAD_VERSION, TOO_MANY_HEADERS } from './decode-error.js';

export const IPV6_HEADER_LEN = 40;
/** More extension headers than this is treated as an attack, not a packet. */
export const IPV6_MAX_EXT_HEADERS = 8;

export const Ipv6Fragment = { NONE: 0, FIRST: 1, LATER: 2 } as const;

export class Ipv6State {
  trafficClass = 0;
  flowLabel = 0;
  payloadLength = 0;
  /** The fixed header's Next Header field. */
  next = 0;
  hlim = 0;
  /** Protocol after the extension headers (== next when there are none). */
  upper = 0;
  /** Bytes of extension headers skipped; header length returned = 40 + extLength. */
  extLength = 0;
  extCount = 0;
  /** Ipv6Fragment.*: NONE, FIRST (offset 0, M=1), LATER (offset > 0). */
  fragment = 0;
  fragOffset = 0;
  fragMore = 0;
  fragId = 0;
}

export function decodeIpv6(b: Uint8Array, off: number, end: number, out: Ipv6State): number {
  if (off + IPV6_HEADER_LEN > end) return TRUNCATED;
  const w0 = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
  if (w0 >>> 28 !== 6) return BAD_VERSION;
  out.trafficClass = (w0 >>> 20) & 0xff;
  out.flowLabel = w0 & 0xfffff;
  out.payloadLength = (b[off + 4] << 8) | b[off + 5];
  let nh = b[off + 6];
  out.next = nh;
  out.hlim = b[off + 7];
  out.fragment = 0;
  out.fragOffset = 0;
  out.fragMore = 0;
  out.fragId = 0;
  let p = off + IPV6_HEADER_LEN;
  let n = 0;
  for (;;) {
    let len: number;
    if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
      if (p + 2 > end) return TRUNCATED;
      len = (b[p + 1] + 1) << 3;
    } else if (nh === 51) {
      if (p + 2 > end) return TRUNCATED;
      len = (b[p + 1] + 2) << 2;
    } else if (nh === 44) {
      if (p + 8 > end) return TRUNCATED;
      const fo = (b[p + 2] << 8) | b[p + 3];
      out.fragOffset = fo >>> 3;
      out.fragMore = fo & 1;
      out.fragId = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
      // An atomic fragment (offset 0, M=0) is a whole packet: not a fragment.
      out.fragment = out.fragOffset !== 0 ? 2 : out.fragMore !== 0 ? 1 : 0;
      len = 8;
    } else {
      break;
    }
    if (++n > IPV6_MAX_EXT_HEADERS) return TOO_MANY_HEADERS;
    if (p + len > end) return TRUNCATED;
    nh = b[p];
    p += len;
    // Nothing after a later fragment's header can be parsed: stop here.
    if (out.fragment === 2) break;
  }
  out.upper = nh;
  out.extCount = n;
  out.extLength = p - off - IPV6_HEADER_LEN;
  return p - off;
}

/**
 * Write a 40-byte header; `src`/`dst` are copied from `addrs` at the given
 * offsets (templates keep addresses as bytes). Returns 40.
 */
export function writeIpv6(
  b: Uint8Array, off: number, trafficClass: number, flowLabel: number, payloadLength: number,
  next: number, hlim: number, addrs: Uint8Array, srcOff: number, dstOff: number,
): number {
  const w0 = (6 << 28) | ((trafficClass & 0xff) << 20) | (flowLabel & 0xfffff);
  b[off] = w0 >>> 24; b[off + 1] = (w0 >>> 16) & 0xff; b[off + 2] = (w0 >>> 8) & 0xff; b[off + 3] = w0 & 0xff;
  b[off + 4] = (payloadLength >>> 8) & 0xff; b[off + 5] = payloadLength & 0xff;
  b[off + 6] = next & 0xff;
  b[off + 7] = hlim & 0xff;
  for (let i = 0; i < 16; i++) {
    b[off + 8 + i] = addrs[srcOff + i];
    b[off + 24 + i] = addrs[dstOff + i];
  }
  return IPV6_HEADER_LEN;
}

/** RFC 5952 text form of the 16 bytes at `off` (slow path). */
export function formatIpv6At(b: Uint8Array, off: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[off + 2 * i] << 8) | b[off + 2 * i + 1]);
  // Longest run (>= 2) of zero words becomes "::" (first one on ties).
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  // IPv4-mapped addresses keep the dotted tail, as tshark and tcpdump print them.
  if (best === 0 && bestLen === 5 && w[5] === 0xffff) {
    return `::ffff:${b[off + 12]}.${b[off + 13]}.${b[off + 14]}.${b[off + 15]}`;
  }
  const h = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return h(w);
  return `${h(w.slice(0, best))}::${h(w.slice(best + bestLen))}`;
}

/** Parse an IPv6 text address into 16 bytes at `out[off..]`; throws on bad input. */
export function parseIpv6(s: string, out: Uint8Array, off = 0): void {
  let tail4: number[] = [];
  let str = s;
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    tail4 = m[2].split('.').map(Number);
    str = m[1] + '0:0';
  }
  const halves = str.split('::');
  if (halves.length > 2) throw new RangeError(`not an IPv6 address: ${s}`);
  const part = (x: string) => (x === '' ? [] : x.split(':'));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) throw new RangeError(`not an IPv6 address: ${s}`);
  const words = [...head, ...Array(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  words.forEach((x, i) => {
    if (!/^[0-9a-f]{1,4}$/i.test(x)) throw new RangeError(`not an IPv6 address: ${s}`);
    const v = parseInt(x, 16);
    out[off + 2 * i] = v >>> 8;
    out[off + 2 * i + 1] = v & 0xff;
  });
  if (m) for (let i = 0; i < 4; i++) out[off + 12 + i] = tail4[i];
}

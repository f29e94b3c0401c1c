/**
 * Inner-flow hash for outer entropy (UDP source port, NVGRE FlowID, IPv6 flow
 * label): RFC 7348 section 5 wants it to come from the inner frame so ECMP in the
 * underlay keeps a flow on one path.  Hashes MACs, VLAN tags and ethertype, then
 * IPv4/IPv6 addresses + protocol, then TCP/UDP/SCTP ports of unfragmented
 * packets (fragments hash without ports so all pieces follow one path).
 * FNV-1a over 32-bit words + murmur3's fmix32 finaliser: no allocation, SMI-friendly.
 */

/** Filled by `flowHash`: [0] inner L3 offset relative to the frame (-1 none), [1] ethertype. */
export const flowInfo = new Int32Array(2);

const SEED = 0x9747b28c;

// One multiply per word (FNV-1a on 32-bit words); the final fmix avalanches, which is
// what spreads flows over the port range. Murmur's per-word mixing cost 2.5x more here.
function mix(h: number, k: number): number {
  return Math.imul(h ^ k, 0x01000193);
}

function be32(d: Uint8Array, o: number): number {
  return (d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3];
}

/** Hash the Ethernet frame at d[off, off+len). Returns an unsigned 32-bit value. */
export function flowHash(d: Uint8Array, off: number, len: number): number {
  let h = SEED;
  flowInfo[0] = -1;
  flowInfo[1] = 0;
  if (len < 14) {
    for (let k = 0; k < len; k++) h = mix(h, d[off + k]);
    return fmix(h) >>> 0;
  }
  h = mix(h, be32(d, off));
  h = mix(h, be32(d, off + 4));
  h = mix(h, be32(d, off + 8));
  let p = off + 12;
  const end = off + len;
  let et = (d[p] << 8) | d[p + 1];
  // VLAN tags (802.1Q, 802.1ad, old QinQ): part of the L2 identity of the flow.
  for (let tags = 0; (et === 0x8100 || et === 0x88a8 || et === 0x9100) && tags < 4 && p + 6 <= end; tags++) {
    h = mix(h, (d[p + 2] << 8) | d[p + 3]);
    p += 4;
    et = (d[p] << 8) | d[p + 1];
  }
  h = mix(h, et);
  p += 2;
  flowInfo[1] = et;
  if (et === 0x0800 && p + 20 <= end && d[p] >> 4 === 4) {
    flowInfo[0] = p - off;
    const ihl = (d[p] & 15) << 2;
    const proto = d[p + 9];
    h = mix(h, be32(d, p + 12));
    h = mix(h, be32(d, p + 16));
    h = mix(h, proto);
    const frag = ((d[p + 6] << 8) | d[p + 7]) & 0x3fff;
    const l4 = p + ihl;
    if (frag === 0 && ihl >= 20 && (proto === 6 || proto === 17 || proto === 132) && l4 + 4 <= end) h = mix(h, be32(d, l4));
  } else if (et === 0x86dd && p + 40 <= end && d[p] >> 4 === 6) {
    flowInfo[0] = p - off;
    for (let k = 8; k < 40; k += 4) h = mix(h, be32(d, p + k));
    const nh = d[p + 6];
    h = mix(h, nh);
    const l4 = p + 40;
    if ((nh === 6 || nh === 17 || nh === 132) && l4 + 4 <= end) h = mix(h, be32(d, l4));
  }
  return fmix(h) >>> 0;
}

// Frame length is deliberately not mixed in: all frames of a flow must hash alike.
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

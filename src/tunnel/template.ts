/**
 * Outer header templates, built once per (tunnel, remote VTEP) and copied in
 * front of each inner frame by the encap stage, which then patches lengths,
 * IPv4 id/checksum, UDP source port/checksum, NVGRE FlowID and DSCP.
 *
 * Wire formats (the part after outer Ethernet [+ 802.1Q] and IPv4/IPv6):
 *
 *  VXLAN, RFC 7348 (UDP dport 4789)        GENEVE, RFC 8926 (UDP dport 6081)
 *  +-+-+-+-+-+-+-+-+---------------+        |Ver|Opt Len|O|C|Rsvd| Protocol Type |
 *  |R|R|R|R|I|R|R|R|   Reserved    |        |  Virtual Network Id (VNI) | Rsvd  |
 *  |   VXLAN Network Identifier   |Rsvd|    |  Option Class | Type |R|R|R|Len |...
 *
 *  NVGRE, RFC 7637 (IP protocol 47)
 *  |0|-|1|0| Reserved0 | Ver |   Protocol Type 0x6558    |
 *  |  Virtual Subnet ID (VSID)  |    FlowID     |
 *
 * Template fields left zero for the patcher: IPv4 total length, id, checksum
 * (and TOS when DSCP is copied), IPv6 payload length and flow label, UDP
 * source port, length, checksum, NVGRE FlowID when hashed.
 */
import { ETH_P_TEB, type ResolvedEncap } from './tunnel-config.js';
import { sum16 } from '../packet/checksum.js';

export interface EncapTemplate {
  /** Bytes of outer header put in front of the inner frame. */
  hdrLen: number;
  /** Outer Ethernet header length (14 or 18): the MTU counts from here. */
  ethLen: number;
  ipOff: number;
  /** Offset of the UDP or GRE header. */
  l4Off: number;
  /** Offset of the VXLAN/GENEVE header (UDP types) or of the GRE header (NVGRE). */
  tunOff: number;
  /** One template per remote, each a view of `hdrLen` bytes (views made once, here). */
  bytes: Uint8Array[];
  /** Per remote: one's-complement sum of the IPv4 header with len/id/csum (and TOS) zero. */
  ip4Sum: Float64Array;
  /** Per remote: UDP checksum partial sum (pseudo-header addresses + proto, dport, tunnel header). */
  udpSum: Float64Array;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function tunnelHeaderLen(c: ResolvedEncap): number {
  if (c.type !== 'geneve') return 8;
  let n = 8;
  for (const o of c.geneveOptions) n += 4 + o.data.length;
  return n;
}

/** Write the tunnel header (VXLAN / GENEVE + options / NVGRE) at `o`. */
function writeTunnelHeader(b: Uint8Array, o: number, c: ResolvedEncap): void {
  const vni = c.vni;
  if (c.type === 'vxlan') {
    b[o] = 0x08; // I flag: VNI valid
    b[o + 4] = vni >>> 16;
    b[o + 5] = (vni >>> 8) & 0xff;
    b[o + 6] = vni & 0xff;
  } else if (c.type === 'geneve') {
    const optLen = tunnelHeaderLen(c) - 8;
    const critical = c.geneveOptions.some((x) => (x.type & 0x80) !== 0);
    b[o] = optLen >>> 2; // version 0
    b[o + 1] = critical ? 0x40 : 0; // C bit when a critical option is present (RFC 8926 3.4)
    put16(b, o + 2, ETH_P_TEB);
    b[o + 4] = vni >>> 16;
    b[o + 5] = (vni >>> 8) & 0xff;
    b[o + 6] = vni & 0xff;
    let q = o + 8;
    for (const x of c.geneveOptions) {
      put16(b, q, x.optClass);
      b[q + 2] = x.type;
      b[q + 3] = x.data.length >>> 2;
      b.set(x.data, q + 4);
      q += 4 + x.data.length;
    }
  } else {
    put16(b, o, 0x2000); // K=1, C=0, S=0, version 0
    put16(b, o + 2, ETH_P_TEB);
    b[o + 4] = vni >>> 16;
    b[o + 5] = (vni >>> 8) & 0xff;
    b[o + 6] = vni & 0xff;
    b[o + 7] = c.flowId < 0 ? 0 : c.flowId;
  }
}

export function buildTemplates(c: ResolvedEncap): EncapTemplate {
  const ethLen = c.vlan >= 0 ? 18 : 14;
  const ipLen = c.v6 ? 40 : 20;
  const udp = c.type !== 'nvgre';
  const l4Off = ethLen + ipLen;
  const tunOff = udp ? l4Off + 8 : l4Off;
  const hdrLen = tunOff + tunnelHeaderLen(c);
  const n = c.remotes.length;
  const slab = new Uint8Array(hdrLen * n);
  const bytes: Uint8Array[] = [];
  const ip4Sum = new Float64Array(n);
  const udpSum = new Float64Array(n);
  const proto = udp ? 17 : 47;
  for (let r = 0; r < n; r++) {
    const b = slab.subarray(r * hdrLen, (r + 1) * hdrLen);
    const rem = c.remotes[r];
    b.set(rem.mac, 0);
    b.set(c.localMac, 6);
    let p = 12;
    if (c.vlan >= 0) {
      put16(b, 12, 0x8100);
      put16(b, 14, c.vlan);
      p = 16;
    }
    put16(b, p, c.v6 ? 0x86dd : 0x0800);
    const ip = ethLen;
    if (c.v6) {
      b[ip] = 0x60;
      b[ip + 6] = proto;
      b[ip + 7] = c.ttl;
      b.set(c.local, ip + 8);
      b.set(rem.ip, ip + 24);
    } else {
      b[ip] = 0x45;
      b[ip + 6] = 0x40; // DF: a VTEP never fragments (RFC 7348 4.3)
      b[ip + 8] = c.ttl;
      b[ip + 9] = proto;
      b.set(c.local, ip + 12);
      b.set(rem.ip, ip + 16);
      ip4Sum[r] = sum16(b, ip, 20);
    }
    if (udp) put16(b, l4Off + 2, c.dstPort);
    writeTunnelHeader(b, tunOff, c);
    if (udp) {
      const addrs = c.v6 ? sum16(b, ip + 8, 32) : sum16(b, ip + 12, 8);
      udpSum[r] = addrs + proto + sum16(b, l4Off, hdrLen - l4Off);
    }
    bytes.push(b);
  }
  return { hdrLen, ethLen, ipOff: ethLen, l4Off, tunOff, bytes, ip4Sum, udpSum };
}

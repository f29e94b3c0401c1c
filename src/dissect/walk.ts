/**
 * walkFrame: the zero-allocation layer walker. It decodes every header of a
 * frame, outermost first, through nested tunnels (VXLAN / GENEVE by UDP
 * destination port, GRE, NVGRE), and records the layer stack (kind, offset,
 * decode bound) and why it stopped into typed arrays of a reused WalkState.
 * Formatters re-decode from those offsets; the fast path only needs the stack.
 *
 * Bounds: the capture end, narrowed by IPv4 total length / IPv6 payload
 * length / UDP length (so Ethernet padding is never parsed as a header). When
 * a length field claims more bytes than were captured, a header that starts
 * at the captured end is reported as truncated rather than "no more layers".
 */
import { EthernetState, decodeEthernet } from '../packet/ethernet.js';
import { VlanState, decodeVlan } from '../packet/vlan.js';
import { ArpState, decodeArp } from '../packet/arp.js';
import { Ipv4State, decodeIpv4 } from '../packet/ipv4.js';
import { Ipv6State, decodeIpv6 } from '../packet/ipv6.js';
import { UdpState, decodeUdp } from '../packet/udp.js';
import { GreState, decodeGre } from '../packet/gre.js';
import { NvgreState, decodeNvgre, isNvgre } from '../packet/nvgre.js';
import { VxlanState, decodeVxlan, VXLAN_PORT } from '../packet/vxlan.js';
import { GeneveState, decodeGeneve, GENEVE_PORT } from '../packet/geneve.js';
import { TcpState, IcmpState, decodeTcp, decodeIcmp } from '../packet/l4.js';
import { TRUNCATED } from '../packet/decode-error.js';
import {
  L_NONE, L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_GRE, L_NVGRE, L_VXLAN, L_GENEVE,
  S_END, S_UNKNOWN, S_FRAGMENT, S_ERROR, S_LAYER_LIMIT, S_TUNNEL_LIMIT,
} from './layers.js';

export const MAX_LAYERS = 32;
export const DEFAULT_MAX_TUNNELS = 8;

/** `next` after a terminal layer (arp, tcp, icmp): stop without looking further. */
const DONE = -2;

/** Value of `WalkState.udpTunnel[port]`. */
export const UDP_VXLAN = 1;
export const UDP_GENEVE = 2;

export interface WalkOptions {
  vxlanPorts?: readonly number[];
  genevePorts?: readonly number[];
  maxTunnels?: number;
}

export class WalkState {
  /** Layer kinds (L_*), absolute offsets and decode bounds, `count` entries. */
  readonly kind = new Uint8Array(MAX_LAYERS);
  readonly offset = new Int32Array(MAX_LAYERS);
  readonly end = new Int32Array(MAX_LAYERS);
  count = 0;
  /** Offset the walk began at (offsets printed are relative to it). */
  base = 0;
  /** S_* reason, and the absolute offset of the first byte not decoded. */
  stop = S_END;
  stopOffset = 0;
  /** DecodeError code (< 0) and the layer kind that failed, when stop === S_ERROR. */
  error = 0;
  errorKind = L_NONE;
  tunnels = 0;
  maxTunnels: number;
  /** UDP destination port -> UDP_VXLAN / UDP_GENEVE / 0. */
  readonly udpTunnel = new Uint8Array(65536);

  // One codec state per kind, overwritten by nested layers (last one wins).
  readonly eth = new EthernetState();
  readonly vlan = new VlanState();
  readonly arp = new ArpState();
  readonly ip4 = new Ipv4State();
  readonly ip6 = new Ipv6State();
  readonly udp = new UdpState();
  readonly gre = new GreState();
  readonly nvgre = new NvgreState();
  readonly vxlan = new VxlanState();
  readonly geneve = new GeneveState();
  readonly tcp = new TcpState();
  readonly icmp = new IcmpState();

  constructor(opts: WalkOptions = {}) {
    this.maxTunnels = opts.maxTunnels ?? DEFAULT_MAX_TUNNELS;
    this.udpTunnel[VXLAN_PORT] = UDP_VXLAN;
    this.udpTunnel[GENEVE_PORT] = UDP_GENEVE;
    for (const p of opts.vxlanPorts ?? []) this.udpTunnel[checkPort(p)] = UDP_VXLAN;
    for (const p of opts.genevePorts ?? []) this.udpTunnel[checkPort(p)] = UDP_GENEVE;
  }
}

function checkPort(p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`UDP port must be 1..65535, got ${p}`);
  return p;
}

function etherNext(t: number): number {
  if (t === 0x0800) return L_IPV4;
  if (t === 0x86dd) return L_IPV6;
  if (t === 0x8100 || t === 0x88a8 || t === 0x9100) return L_VLAN;
  if (t === 0x0806) return L_ARP;
  return L_NONE;
}

function ipNext(p: number): number {
  if (p === 17) return L_UDP;
  if (p === 6) return L_TCP;
  if (p === 47) return L_GRE;
  if (p === 1) return L_ICMP;
  if (p === 58) return L_ICMPV6;
  if (p === 4) return L_IPV4;
  if (p === 41) return L_IPV6;
  return L_NONE;
}

/** GRE / GENEVE protocol type -> layer. */
function tunnelNext(t: number): number {
  if (t === 0x6558) return L_ETH;
  if (t === 0x0800) return L_IPV4;
  if (t === 0x86dd) return L_IPV6;
  return L_NONE;
}

/** Walk the frame at [off, off+len). Returns the number of layers recorded. */
export function walkFrame(b: Uint8Array, off: number, len: number, st: WalkState): number {
  let p = off;
  let end = off + len;
  // Bytes the enclosing length fields claim exist (> end when the capture cut the frame).
  let claimed = end;
  let bounded = false;
  // Kind of the next header; L_NONE = payload we do not decode, -1 = behind a later fragment, DONE.
  let next = L_ETH;
  let n = 0;
  let tunnels = 0;
  let r = 0;
  let stop = S_END;
  const kind = st.kind;
  const offs = st.offset;
  const ends = st.end;
  st.base = off;
  st.error = 0;
  st.errorKind = L_NONE;
  for (;;) {
    const k = next;
    if (k <= 0) {
      // DONE: a terminal layer was decoded; what follows is its payload.
      if (k !== DONE && p < end) stop = k === 0 ? S_UNKNOWN : S_FRAGMENT;
      break;
    }
    if (p >= end) {
      // Cut where a length field says more follows, or where a header was announced
      // before any length field bounded the frame (capture end = only bound).
      if (p < claimed || !bounded) { r = TRUNCATED; stop = S_ERROR; st.errorKind = k; }
      break;
    }
    if (n === MAX_LAYERS) { stop = S_LAYER_LIMIT; break; }
    switch (k) {
      case L_ETH:
        r = decodeEthernet(b, p, end, st.eth);
        next = etherNext(st.eth.type);
        break;
      case L_VLAN:
        r = decodeVlan(b, p, end, st.vlan);
        next = etherNext(st.vlan.type);
        break;
      case L_IPV4:
        r = decodeIpv4(b, p, end, st.ip4);
        if (r > 0) {
          const ipEnd = p + st.ip4.totalLength;
          claimed = ipEnd;
          bounded = true;
          if (ipEnd < end) end = ipEnd;
          next = st.ip4.fragOffset !== 0 ? -1 : ipNext(st.ip4.proto);
        }
        break;
      case L_IPV6:
        r = decodeIpv6(b, p, end, st.ip6);
        if (r > 0) {
          // Payload length 0 is a jumbogram (or a lie): keep the captured end.
          if (st.ip6.payloadLength !== 0) {
            const ipEnd = p + 40 + st.ip6.payloadLength;
            claimed = ipEnd;
            bounded = true;
            if (ipEnd < end) end = ipEnd;
          }
          next = st.ip6.fragment === 2 ? -1 : ipNext(st.ip6.upper);
        }
        break;
      case L_UDP:
        r = decodeUdp(b, p, end, st.udp);
        if (r > 0) {
          const uEnd = p + st.udp.length;
          claimed = uEnd;
          bounded = true;
          if (uEnd < end) end = uEnd;
          const t = st.udpTunnel[st.udp.dport];
          next = t === UDP_VXLAN ? L_VXLAN : t === UDP_GENEVE ? L_GENEVE : L_NONE;
        }
        break;
      case L_VXLAN:
        r = decodeVxlan(b, p, end, st.vxlan);
        next = L_ETH;
        break;
      case L_GENEVE:
        r = decodeGeneve(b, p, end, st.geneve);
        next = tunnelNext(st.geneve.protocol);
        break;
      case L_GRE:
        r = decodeGre(b, p, end, st.gre);
        next = tunnelNext(st.gre.protocol);
        break;
      case L_NVGRE:
        r = decodeNvgre(b, p, end, st.nvgre);
        next = L_ETH;
        break;
      case L_ARP:
        r = decodeArp(b, p, end, st.arp);
        next = DONE;
        break;
      case L_TCP:
        r = decodeTcp(b, p, end, st.tcp);
        next = DONE;
        break;
      default: // L_ICMP, L_ICMPV6
        r = decodeIcmp(b, p, end, st.icmp);
        next = DONE;
        break;
    }
    if (r < 0) { stop = S_ERROR; st.errorKind = k; break; }
    kind[n] = k;
    offs[n] = p;
    ends[n] = end;
    n++;
    p += r;
    // Tunnel bookkeeping (tunnel kinds are the highest codes: one compare on the
    // common path): GRE with the NVGRE shape is NVGRE; count nesting depth.
    if (next >= L_GRE) {
      if (next === L_GRE && p + 4 <= end && isNvgre(b, p)) next = L_NVGRE;
      if (tunnels === st.maxTunnels) { stop = S_TUNNEL_LIMIT; break; }
      tunnels++;
    }
  }
  st.error = stop === S_ERROR ? r : 0;
  st.count = n;
  st.stop = stop;
  st.stopOffset = p;
  st.tunnels = tunnels;
  return n;
}

/**
 * WalkState: the reused state walkFrame fills (layer stack, stop reason, one
 * codec state per header kind, the UDP-port -> tunnel table), and the small
 * lookup helpers the walk dispatches through. Split from walk.ts so the walk
 * itself reads as one loop.
 */
import { EthernetState } from '../packet/ethernet.js';
import { VlanState } from '../packet/vlan.js';
import { ArpState } from '../packet/arp.js';
import { Ipv4State } from '../packet/ipv4.js';
import { Ipv6State } from '../packet/ipv6.js';
import { UdpState } from '../packet/udp.js';
import { GreState } from '../packet/gre.js';
import { NvgreState } from '../packet/nvgre.js';
import { VxlanState, VXLAN_PORT } from '../packet/vxlan.js';
import { GeneveState, GENEVE_PORT } from '../packet/geneve.js';
import { TcpState, IcmpState } from '../packet/l4.js';
import { MplsState, PwCwState } from '../packet/mpls.js';
import {
  L_NONE, L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_GRE, L_MPLS, L_PWCW, S_END,
} from './layers.js';

export const MAX_LAYERS = 32;
export const DEFAULT_MAX_TUNNELS = 8;

/** `next` after a terminal layer (arp, tcp, icmp): stop without looking further. */
export const DONE = -2;

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
  /** DataView over the last buffer walked: rebuilt only when the buffer changes (a reader reuses its chunk). */
  view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  viewOf: Uint8Array | null = null;

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
  readonly mpls = new MplsState();
  readonly pwcw = new PwCwState();

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

export function etherNext(t: number): number {
  if (t === 0x0800) return L_IPV4;
  if (t === 0x86dd) return L_IPV6;
  if (t === 0x8100 || t === 0x88a8 || t === 0x9100) return L_VLAN;
  if (t === 0x0806) return L_ARP;
  if (t === 0x8847 || t === 0x8848) return L_MPLS;
  return L_NONE;
}

export function ipNext(p: number): number {
  if (p === 17) return L_UDP;
  if (p === 6) return L_TCP;
  if (p === 47) return L_GRE;
  if (p === 1) return L_ICMP;
  if (p === 58) return L_ICMPV6;
  if (p === 4) return L_IPV4;
  if (p === 41) return L_IPV6;
  return L_NONE;
}

/** IPv6 next-header values decodeIpv6 walks as extension headers (1) -> take the codec path. */
export const IPV6_EXT = new Uint8Array(256);
for (const h of [0, 43, 44, 51, 60, 135, 139, 140]) IPV6_EXT[h] = 1;

/**
 * Views of the buffers walked, so that a caller cycling through a set of
 * buffers allocates one DataView per buffer, not per frame (readers and
 * batches reuse one buffer and never get here after their first frame).
 */
const views = new WeakMap<Uint8Array, DataView<ArrayBufferLike>>();

export function viewFor(b: Uint8Array, st: WalkState): DataView<ArrayBufferLike> {
  let v = views.get(b);
  if (v === undefined) {
    v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    views.set(b, v);
  }
  st.viewOf = b;
  st.view = v;
  return v;
}

/** GRE / GENEVE protocol type -> layer. */
export function tunnelNext(t: number): number {
  if (t === 0x6558) return L_ETH;
  if (t === 0x0800) return L_IPV4;
  if (t === 0x86dd) return L_IPV6;
  if (t === 0x8847 || t === 0x8848) return L_MPLS;
  return L_NONE;
}

/**
 * What follows the bottom of an MPLS label stack, by its first nibble (nothing
 * announces it): 4 IPv4, 6 IPv6, 0 a pseudowire control word (then Ethernet),
 * 1 a PW associated channel (not decoded), else Ethernet without control word.
 */
export function mplsPayload(nibble: number): number {
  if (nibble === 4) return L_IPV4;
  if (nibble === 6) return L_IPV6;
  if (nibble === 0) return L_PWCW;
  if (nibble === 1) return L_NONE;
  return L_ETH;
}

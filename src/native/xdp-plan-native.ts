/**
 * The addon's XdpPlan (native-bindings/src/xdp_plan.cc): the xdp offload plan's
 * eBPF programs (native-bindings/bpf/vtepd_xdp.bpf.c) and their maps, typed,
 * with the object's path and the counter names in the order vtepd_xdp.h gives.
 */
import { existsSync } from 'node:fs';
import { loadNative } from './addon.js';
import { bpfObjectPath } from './af-xdp-native.js';

/** Slots of the programs' per-CPU counters (enum vtepd_xdp_counter). */
export const XDP_PLAN_COUNTERS = [
  'truncated', 'ip-bad-header', 'ip-bad-length', 'udp-bad-length', 'vxlan-bad-flags',
  'decap-redirect', 'encap-redirect', 'bridge-redirect',
  'pass-not-ours', 'pass-learn', 'pass-flood', 'pass-unknown-vni', 'pass-mtu', 'pass-other',
  'ip4-bad-checksum', 'zero-payload', 'inner-too-short',
  'nvgre-bad-flags', 'geneve-bad-version', 'geneve-bad-opt-length', 'geneve-control', 'geneve-non-ethernet',
  // Appended with the IPv6 outer (the indexes above keep their meaning).
  'tunnel-type-mismatch', 'pass-geneve-critical', 'pass-no-headroom', 'udp6-zero-checksum', 'pass-ip6-ext-header',
] as const;
export type XdpPlanCounter = (typeof XDP_PLAN_COUNTERS)[number];

export interface XdpPlanConfig {
  /** This host's IPv4 underlay address; may be left out when localIp6 is given. */
  localIp?: string;
  underlaySlot: number;
  /** VXLAN's UDP port (4789). */
  udpPort: number;
  mtu: number; sportMin: number; sportMax: number;
  /** GENEVE's UDP port, default 6081 (0: GENEVE not recognised). */
  genevePort?: number;
  /** This host's IPv6 underlay address (decap of IPv6-outer frames); none by default. */
  localIp6?: string;
  /** Accept IPv6 outer UDP checksum 0 (RFC 6935/6936), default false: dropped as udp6-zero-checksum. */
  zeroCsum6Rx?: boolean;
}
/** Structurally src/tunnel's TunnelType and GeneveOption (native sits below tunnel: no import up). */
export type XdpTunnelType = 'vxlan' | 'geneve' | 'nvgre';
export interface XdpGeneveOption { optClass: number; type: number; data: Uint8Array }
/** A bridge domain's tunnel (default: VXLAN). The options are the network's, as EncapConfig takes them. */
export interface XdpDomainTunnel {
  type: XdpTunnelType;
  geneveOptions?: XdpGeneveOption[];
  /** NVGRE FlowID: 'hash' (default: the low byte of the inner-flow hash, as the TypeScript stage) or fixed 0..255. */
  flowId?: number | 'hash';
  /** Outer UDP checksum over IPv4 (default: 0, as RFC 7348 allows and EncapConfig.udpCsum). */
  udpCsum?: boolean;
  /** Send UDP checksum 0 over IPv6 (RFC 6935/6936), default off: computed by the program. */
  zeroCsum6Tx?: boolean;
}
export interface XdpFdbRow { domain: number; mac: string; at: 'port' | 'remote'; target: number; lastSeenNs: number }
export type XdpProgram = 'underlay' | 'port';

export interface XdpPlanHandle {
  setConfig(c: XdpPlanConfig): void;
  /** The domain's VNI (VSID) and tunnel, its header built by the loader; without `tunnel`, VXLAN. One VNI, one domain, one type. */
  setVni(vni: number, domain: number, tunnel?: XdpDomainTunnel): void;
  /**
   * A domain of any type: `header` is its tunnel header as the encap stage writes it (8..260 bytes,
   * whole words); udpPort 0 = the config's port for the type; opts: the outer UDP checksum, as EncapConfig.
   */
  setDomain(domain: number, vni: number, type: XdpTunnelType, udpPort: number, header: Buffer, opts?: { udpCsum?: boolean; zeroCsum6Tx?: boolean }): void;
  setPort(ifindex: number, domain: number, slot: number): void;
  setSlot(slot: number, ifindex: number): void;
  /**
   * header: the remote's outer Ethernet + IPv4 (34 bytes, or 42 with a UDP header that is ignored)
   * or Ethernet + IPv6 (54, or 62; `ip` then an IPv6 address), for any tunnel type: the IP
   * protocol, lengths, IPv4 checksum, flow label and the UDP header are filled per frame.
   */
  setRemote(index: number, ip: string, header: Buffer): void;
  setFdb(domain: number, mac: string, at: 'port' | 'remote', target: number): void;
  delFdb(domain: number, mac: string): boolean;
  fdb(): XdpFdbRow[];
  counters(): number[];
  testRun(program: XdpProgram, frame: Buffer, ingressIfindex?: number): { action: 'aborted' | 'drop' | 'pass' | 'tx' | 'redirect'; frame: Buffer };
  attach(program: XdpProgram, ifname: string, mode?: 'native' | 'generic'): number;
  detach(id: number): boolean;
  close(): void;
}

/** vtepd_xdp.bpf.o, the xdp plan's programs. */
export function xdpPlanObjectPath(): string {
  return bpfObjectPath('vtepd_xdp.bpf.o');
}

export function openXdpPlan(object = xdpPlanObjectPath()): XdpPlanHandle {
  const n = loadNative() as unknown as { XdpPlan?: new (o: { object: string }) => XdpPlanHandle };
  if (typeof n.XdpPlan !== 'function') throw new Error('the vtepd addon has no XdpPlan: rebuild it (npm run build:native)');
  if (!existsSync(object)) throw new Error(`${object} is missing: build it with npm run build:native (needs clang, bpftool, libbpf-dev, kernel BTF)`);
  return new n.XdpPlan({ object });
}

/** Counters by name. */
export function xdpPlanCounters(p: XdpPlanHandle): Record<XdpPlanCounter, number> {
  const v = p.counters();
  return Object.fromEntries(XDP_PLAN_COUNTERS.map((k, i) => [k, v[i] ?? 0])) as Record<XdpPlanCounter, number>;
}

/**
 * The remote header setRemote takes, from a template the TypeScript encap stage
 * built (src/tunnel/template.ts): its outer Ethernet + IP bytes (no outer VLAN tag).
 */
export function xdpRemoteHeader(template: { bytes: Uint8Array[]; ipOff: number; l4Off: number }, remote: number): Buffer {
  return Buffer.from(template.bytes[remote].subarray(0, template.l4Off));
}

/** The tunnel header setDomain takes, from the same template: its bytes after the outer IP (and UDP) header. */
export function xdpTunnelHeader(template: { bytes: Uint8Array[]; tunOff: number; hdrLen: number }): Buffer {
  return Buffer.from(template.bytes[0].subarray(template.tunOff, template.hdrLen));
}

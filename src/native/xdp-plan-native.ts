/**
 * The addon's XdpPlan (native-bindings/src/xdp_plan.cc): the xdp offload plan's
 * eBPF programs (native-bindings/bpf/vtepd_xdp.bpf.c) and their maps, typed,
 * with the object's path and the counter names in the order vtepd_xdp.h gives.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadNative } from './addon.js';
import { xskObjectPath } from './af-xdp-native.js';

/** Slots of the programs' per-CPU counters (enum vtepd_xdp_counter). */
export const XDP_PLAN_COUNTERS = [
  'truncated', 'ip-bad-header', 'ip-bad-length', 'udp-bad-length', 'vxlan-bad-flags',
  'decap-redirect', 'encap-redirect', 'bridge-redirect',
  'pass-not-ours', 'pass-learn', 'pass-flood', 'pass-unknown-vni', 'pass-mtu', 'pass-other',
  'ip4-bad-checksum', 'zero-payload', 'inner-too-short',
  'nvgre-bad-flags', 'geneve-bad-version', 'geneve-bad-opt-length', 'geneve-control', 'geneve-non-ethernet',
] as const;
export type XdpPlanCounter = (typeof XDP_PLAN_COUNTERS)[number];

export interface XdpPlanConfig { localIp: string; underlaySlot: number; udpPort: number; mtu: number; sportMin: number; sportMax: number; genevePort?: number }
export interface XdpFdbRow { domain: number; mac: string; at: 'port' | 'remote'; target: number; lastSeenNs: number }
export type XdpProgram = 'underlay' | 'port';

export interface XdpPlanHandle {
  setConfig(c: XdpPlanConfig): void;
  /** A VXLAN domain on the config's UDP port. */
  setVni(vni: number, domain: number): void;
  /** A domain of any type: `header` is its tunnel header as the encap stage writes it (8..72 bytes; udpPort 0 = the config's). */
  setDomain(domain: number, vni: number, type: 'vxlan' | 'geneve' | 'nvgre', udpPort: number, header: Buffer): void;
  setPort(ifindex: number, domain: number, slot: number): void;
  setSlot(slot: number, ifindex: number): void;
  /**
   * header: outer Ethernet + IPv4 + UDP (42 bytes, IP protocol 17); the program uses the first 34 and fills
   * the protocol, total length and checksum, and the UDP header, per frame and per the domain's type.
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

/** vtepd_xdp.bpf.o, next to the AF_XDP port's program. */
export function xdpPlanObjectPath(): string {
  return join(dirname(xskObjectPath()), 'vtepd_xdp.bpf.o');
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

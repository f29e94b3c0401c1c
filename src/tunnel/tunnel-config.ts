/**
 * Tunnel configuration: the shapes users (CLI, daemon, bridge) pass in, their
 * defaults, and validation done once at construction (never per packet).
 * Errors are `TunnelConfigError` with a one-line message naming the field.
 */
import { isIP } from 'node:net';

export type TunnelType = 'vxlan' | 'geneve' | 'nvgre';
export const TUNNEL_TYPES: readonly TunnelType[] = ['vxlan', 'geneve', 'nvgre'];

export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;
export const ETH_P_TEB = 0x6558; // Transparent Ethernet Bridging (GENEVE + NVGRE payload)

export class TunnelConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TunnelConfigError';
  }
}

/** One GENEVE option (RFC 8926 3.5): class, type (bit 7 = critical), data in 4-byte words. */
export interface GeneveOption {
  optClass: number;
  type: number;
  data: Uint8Array;
}

export interface RemoteVtep {
  /** IPv4 or IPv6 address, same family as `local`. */
  ip: string;
  /** Next-hop MAC of this remote (default: `EncapConfig.remoteMac`). */
  mac?: string;
}

export interface EncapConfig {
  type: TunnelType;
  /** VNI (VXLAN/GENEVE) or VSID (NVGRE), 24 bits. */
  vni: number;
  local: string;
  /** Remote VTEPs; `batch.outPort[i]` picks one (NONE/-1 means remote 0). */
  remotes: RemoteVtep[];
  localMac?: string; // default 02:00:00:00:00:01
  remoteMac?: string; // default 02:00:00:00:00:02
  /** Outer 802.1Q VLAN id (1..4094), none by default. */
  vlan?: number;
  /** UDP destination port, default 4789 (VXLAN) / 6081 (GENEVE). */
  dstPort?: number;
  /** UDP source port range for the flow hash, default 49152..65535. */
  sportMin?: number;
  sportMax?: number;
  geneveOptions?: GeneveOption[];
  /** NVGRE FlowID: 'hash' (default, from the inner flow) or a fixed 0..255. */
  flowId?: number | 'hash';
  /** Underlay MTU: largest outer IP packet (Ethernet header excluded), default 1500. */
  mtu?: number;
  /** Compute the outer UDP checksum over IPv4 (default: send 0, RFC 7348 allows it). */
  udpCsum?: boolean;
  /** Send UDP checksum 0 over IPv6 (RFC 6935/6936 zero-checksum mode), default off. */
  zeroCsum6Tx?: boolean;
  /** Outer TTL / hop limit, default 64. */
  ttl?: number;
  /** Copy DSCP and ECN from the inner IP header into the outer one. */
  copyDscp?: boolean;
}

export interface DecapConfig {
  /** Accept only these VNIs/VSIDs, of any tunnel type (all when absent or empty). */
  vnis?: number[];
  /**
   * Accept only these networks' VNIs, each in its own tunnel type only: a frame
   * of another type is dropped as 'tunnel-type-mismatch' (exclusive with `vnis`).
   */
  networks?: { vni: number; type: TunnelType }[];
  vxlanPorts?: number[]; // default [4789]
  genevePorts?: number[]; // default [6081]
  /** Recognise NVGRE (IP protocol 47, 0x6558), default true. */
  nvgre?: boolean;
  /** Pass non-tunnel frames through untouched instead of dropping them. */
  keepOther?: boolean;
  /** Verify non-zero outer UDP checksums (default false: see DESIGN.md, veth leaves them unfinished). */
  verifyUdpCsum?: boolean;
  /** Accept IPv6 outer UDP checksum 0 (RFC 6935 zero-checksum receive), default false. */
  zeroCsum6Rx?: boolean;
  /** Verify the outer IPv4 header checksum (default true). */
  verifyIp4Csum?: boolean;
  /** GENEVE critical options this receiver understands (others drop the frame). */
  geneveKnownOptions?: { optClass: number; type: number }[];
  /**
   * Tunnel levels stripped per frame (1..8, default 1). With 1, an inner frame
   * that is itself tunnelled is tenant payload and delivered as is. With N > 1
   * the stage strips up to N levels and drops frames nested deeper.
   */
  maxDepth?: number;
}

// ---------------------------------------------------------------- parsing

export interface IpAddr {
  v6: boolean;
  bytes: Uint8Array;
}

export function parseIp(s: string, what = 'address'): IpAddr {
  const fam = isIP(s);
  if (fam === 4) return { v6: false, bytes: Uint8Array.from(s.split('.').map(Number)) };
  if (fam !== 6) throw new TunnelConfigError(`${what}: '${s}' is not an IPv4 or IPv6 address`);
  // Embedded dotted quad (::ffff:1.2.3.4) -> two hex groups, then expand '::'.
  const str = s.replace(/%.*$/, '').replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const dbl = str.indexOf('::');
  const split = (p: string) => (p === '' ? [] : p.split(':'));
  let groups: string[];
  if (dbl < 0) groups = split(str);
  else {
    const h = split(str.slice(0, dbl));
    const t = split(str.slice(dbl + 2));
    groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = parseInt(groups[i], 16);
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  }
  return { v6: true, bytes };
}

export function parseMac(s: string, what = 'MAC'): Uint8Array {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) throw new TunnelConfigError(`${what}: '${s}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  return Uint8Array.from(m.slice(1).map((x) => parseInt(x, 16)));
}

export function parseIntStrict(s: string, what: string, min: number, max: number): number {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new TunnelConfigError(`${what}: '${s}' is not an integer`);
  const n = Number(t);
  checkRange(n, what, min, max);
  return n;
}

export function checkRange(n: number, what: string, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) throw new TunnelConfigError(`${what} must be an integer in ${min}..${max}, got ${n}`);
}

/** `CLASS:TYPE:HEXDATA`, e.g. `0x0102:0x80:deadbeef` (data: whole 4-byte words, up to 124 bytes). */
export function parseGeneveOption(s: string): GeneveOption {
  const parts = s.split(':');
  if (parts.length !== 3) throw new TunnelConfigError(`GENEVE option '${s}' must be CLASS:TYPE:HEXDATA`);
  const optClass = parseIntStrict(parts[0], 'GENEVE option class', 0, 0xffff);
  const type = parseIntStrict(parts[1], 'GENEVE option type', 0, 0xff);
  const hex = parts[2].replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new TunnelConfigError(`GENEVE option data '${parts[2]}' is not an even-length hex string`);
  const data = Uint8Array.from(Buffer.from(hex, 'hex'));
  checkGeneveOption({ optClass, type, data });
  return { optClass, type, data };
}

function checkGeneveOption(o: GeneveOption): void {
  checkRange(o.optClass, 'GENEVE option class', 0, 0xffff);
  checkRange(o.type, 'GENEVE option type', 0, 0xff);
  if (o.data.length % 4 !== 0 || o.data.length > 124) {
    throw new TunnelConfigError(`GENEVE option data must be whole 4-byte words, at most 124 bytes (got ${o.data.length})`);
  }
}

// ---------------------------------------------------------------- resolved forms

export interface ResolvedEncap {
  type: TunnelType;
  vni: number;
  v6: boolean;
  local: Uint8Array;
  remotes: { ip: Uint8Array; mac: Uint8Array }[];
  localMac: Uint8Array;
  vlan: number; // -1 = untagged
  dstPort: number;
  sportMin: number;
  sportMax: number;
  geneveOptions: GeneveOption[];
  flowId: number; // -1 = hash
  mtu: number;
  udpCsum: boolean; // resolved for the family: compute or send 0
  ttl: number;
  copyDscp: boolean;
}

export function resolveEncapConfig(c: EncapConfig): ResolvedEncap {
  if (!TUNNEL_TYPES.includes(c.type)) throw new TunnelConfigError(`tunnel type must be one of ${TUNNEL_TYPES.join(', ')}, got '${String(c.type)}'`);
  checkRange(c.vni, c.type === 'nvgre' ? 'VSID' : 'VNI', 0, 0xffffff);
  const local = parseIp(c.local, 'local address');
  if (!c.remotes || c.remotes.length === 0) throw new TunnelConfigError('at least one remote VTEP is required');
  const defMac = parseMac(c.remoteMac ?? '02:00:00:00:00:02', 'remote MAC');
  const remotes = c.remotes.map((r, k) => {
    const ip = parseIp(r.ip, `remote ${k} address`);
    if (ip.v6 !== local.v6) throw new TunnelConfigError(`remote ${k} address ${r.ip} is not the same family as local ${c.local}`);
    return { ip: ip.bytes, mac: r.mac ? parseMac(r.mac, `remote ${k} MAC`) : defMac };
  });
  const vlan = c.vlan ?? -1;
  if (c.vlan !== undefined) checkRange(c.vlan, 'VLAN id', 1, 4094);
  const dstPort = c.dstPort ?? (c.type === 'geneve' ? GENEVE_PORT : VXLAN_PORT);
  checkRange(dstPort, 'UDP destination port', 1, 65535);
  const sportMin = c.sportMin ?? 49152;
  const sportMax = c.sportMax ?? 65535;
  checkRange(sportMin, 'source port range start', 1, 65535);
  checkRange(sportMax, 'source port range end', sportMin, 65535);
  const geneveOptions = c.geneveOptions ?? [];
  if (geneveOptions.length && c.type !== 'geneve') throw new TunnelConfigError('GENEVE options need --type geneve');
  let optBytes = 0;
  for (const o of geneveOptions) {
    checkGeneveOption(o);
    optBytes += 4 + o.data.length;
  }
  if (optBytes > 252) throw new TunnelConfigError(`GENEVE options total ${optBytes} bytes, the header allows 252`);
  let flowId = -1;
  if (c.flowId !== undefined && c.flowId !== 'hash') {
    checkRange(c.flowId, 'NVGRE FlowID', 0, 255);
    flowId = c.flowId;
  }
  const ttl = c.ttl ?? 64;
  checkRange(ttl, 'TTL', 1, 255);
  const mtu = c.mtu ?? 1500;
  // Must carry a minimum-size inner Ethernet frame (60 B without FCS), and be a legal
  // link MTU for the family (IPv4 68, IPv6 1280: RFC 791, RFC 8200 section 5).
  const minMtu = Math.max(local.v6 ? 1280 : 68, (local.v6 ? 40 : 20) + (c.type === 'nvgre' ? 8 : 16) + optBytes + 60);
  checkRange(mtu, `MTU (at least ${minMtu} for this tunnel)`, minMtu, 65535);
  return {
    type: c.type,
    vni: c.vni,
    v6: local.v6,
    local: local.bytes,
    remotes,
    localMac: parseMac(c.localMac ?? '02:00:00:00:00:01', 'local MAC'),
    vlan,
    dstPort,
    sportMin,
    sportMax,
    geneveOptions,
    flowId,
    mtu,
    udpCsum: local.v6 ? !c.zeroCsum6Tx : !!c.udpCsum,
    ttl,
    copyDscp: !!c.copyDscp,
  };
}

export interface ResolvedDecap {
  /**
   * Per VNI, 2 bits (16 VNIs a word, 2^20 words): 0 = not accepted, else the
   * TunnelKind of its network (1 VXLAN, 2 GENEVE, 3 NVGRE; any nonzero value
   * when kinds are not checked). null = accept every VNI.
   */
  vniKind: Uint32Array | null;
  /** Drop a frame whose tunnel kind is not its VNI's ('tunnel-type-mismatch'). */
  checkKind: boolean;
  /** Per UDP port: 0 none, 1 VXLAN, 2 GENEVE (= TunnelKind). */
  portType: Uint8Array;
  nvgre: boolean;
  keepOther: boolean;
  verifyUdpCsum: boolean;
  zeroCsum6Rx: boolean;
  verifyIp4Csum: boolean;
  /** Known critical GENEVE options as (class << 8 | type) keys. */
  geneveKnown: Int32Array;
  maxDepth: number;
}

/** portType values: the TunnelKind of the port (packet-batch.ts). */
export const PORT_VXLAN = 1;
export const PORT_GENEVE = 2;
const KIND_OF: Record<TunnelType, number> = { vxlan: 1, geneve: 2, nvgre: 3 };

/** The 2-bit kind of `vni` in a ResolvedDecap.vniKind table (0 = not accepted). */
export function vniKindOf(table: Uint32Array, vni: number): number {
  return (table[vni >>> 4] >>> ((vni & 15) << 1)) & 3;
}

function vniKindTable(c: DecapConfig): Uint32Array | null {
  const nets = c.networks ?? [];
  const vnis = c.vnis ?? [];
  if (nets.length > 0 && vnis.length > 0) throw new TunnelConfigError('decap: give either vnis or networks, not both');
  if (nets.length === 0 && vnis.length === 0) return null;
  const t = new Uint32Array(1 << 20);
  const set = (v: number, kind: number): void => {
    checkRange(v, 'VNI', 0, 0xffffff);
    const old = vniKindOf(t, v);
    if (old !== 0 && old !== kind) throw new TunnelConfigError(`VNI ${v} is given two tunnel types`);
    t[v >>> 4] |= kind << ((v & 15) << 1);
  };
  for (const n of nets) {
    if (!TUNNEL_TYPES.includes(n.type)) throw new TunnelConfigError(`tunnel type must be one of ${TUNNEL_TYPES.join(', ')}, got '${String(n.type)}'`);
    set(n.vni, KIND_OF[n.type]);
  }
  for (const v of vnis) set(v, 3);
  return t;
}

export function resolveDecapConfig(c: DecapConfig = {}): ResolvedDecap {
  const vniKind = vniKindTable(c);
  const portType = new Uint8Array(65536);
  for (const p of c.genevePorts ?? [GENEVE_PORT]) {
    checkRange(p, 'GENEVE port', 1, 65535);
    portType[p] = PORT_GENEVE;
  }
  for (const p of c.vxlanPorts ?? [VXLAN_PORT]) {
    checkRange(p, 'VXLAN port', 1, 65535);
    if (portType[p] === PORT_GENEVE) throw new TunnelConfigError(`port ${p} cannot be both VXLAN and GENEVE`);
    portType[p] = PORT_VXLAN;
  }
  const known = (c.geneveKnownOptions ?? []).map((o) => {
    checkRange(o.optClass, 'GENEVE option class', 0, 0xffff);
    checkRange(o.type, 'GENEVE option type', 0, 0xff);
    return (o.optClass << 8) | o.type;
  });
  const maxDepth = c.maxDepth ?? 1;
  checkRange(maxDepth, 'decap depth', 1, 8);
  return {
    vniKind,
    checkKind: (c.networks ?? []).length > 0,
    portType,
    nvgre: c.nvgre ?? true,
    keepOther: !!c.keepOther,
    verifyUdpCsum: !!c.verifyUdpCsum,
    zeroCsum6Rx: !!c.zeroCsum6Rx,
    verifyIp4Csum: c.verifyIp4Csum ?? true,
    geneveKnown: Int32Array.from(known),
    maxDepth,
  };
}

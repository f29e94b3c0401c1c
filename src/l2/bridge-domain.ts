/**
 * Bridge domains: which frames belong together. A tunnelled frame belongs to
 * the domain of its VNI; a plain frame to the domain bound to (ingress port,
 * VLAN id) — VLAN 0 meaning untagged — which is how a VLAN on a trunk port maps
 * to a VNI; without a binding, to the plain VLAN domain of its VLAN id.
 * Each domain lists its local member ports (with the VLAN tag a copy leaves
 * with, 0 = untagged) and its remote VTEPs. Remote VTEPs are registered once,
 * globally (one index per address, shared by every domain that uses it: the MAC
 * table and the per-remote learn limit count by this index); inside a domain a
 * remote also has a position, which is what the encap stage of that network
 * takes as `outPort`.
 *
 * Everything here is control path except the `*Of` / `remoteIndex` readers.
 * With `autoCreate` (replaying a capture) unknown VNIs, VLANs, ports and remotes
 * are added as they are seen; a daemon configures them and drops the rest.
 */
import { NONE } from '../batch/packet-batch.js';
import { KeyPairMap, type ReadonlyKeyPairMap } from './key-map.js';
import type { MacTable } from './mac-table.js';

export interface BridgeDomainsOptions {
  maxDomains?: number;
  maxPorts?: number;
  maxRemotes?: number;
  autoCreate?: boolean;
  /** Table whose per-domain ageing `add*Domain({ ageingSeconds })` sets. */
  table?: MacTable;
}

export interface DomainOptions {
  name?: string;
  ageingSeconds?: number;
}

export class BridgeDomains {
  readonly maxDomains: number;
  readonly maxPorts: number;
  readonly maxRemotes: number;
  readonly autoCreate: boolean;
  /** Domains defined: ids 0..count-1. */
  count = 0;
  /** Per domain: its VNI, or NONE for a plain VLAN domain. */
  readonly vni: Int32Array;
  /** Per domain: its VLAN id for a plain domain, else NONE. */
  readonly vlan: Int32Array;
  readonly names: string[] = [];
  /** Per domain: member ports and the VLAN tag each copy leaves with (0 = untagged). */
  readonly ports: Int32Array[] = [];
  readonly portTags: Int32Array[] = [];
  /** Per domain: global indices of its remote VTEPs, in position order. */
  readonly remotes: Int32Array[] = [];
  /** Registered remote VTEPs: 4 address words each (IPv4 in word 0), and a family flag. */
  remoteCount = 0;
  readonly remoteAddr: Uint32Array;
  readonly remoteV6: Uint8Array;
  readonly portNames: string[] = [];

  private readonly table: MacTable | null;
  private readonly vniMap = new KeyPairMap(); // (VNI, 0) -> domain
  private readonly portVlanMap = new KeyPairMap(); // (port, VLAN) -> domain
  private readonly byVlan = new KeyPairMap();
  private readonly remotePosMap = new KeyPairMap(); // (domain, remote) -> position
  private readonly portTag = new KeyPairMap();
  private readonly addrMap = new KeyPairMap(); // (hash of address, chain step) -> remote index
  private membership = 0;

  constructor(o: BridgeDomainsOptions = {}) {
    this.maxDomains = o.maxDomains ?? o.table?.maxDomains ?? 4096;
    this.maxPorts = o.maxPorts ?? o.table?.portCount.length ?? 1024;
    this.maxRemotes = o.maxRemotes ?? o.table?.remoteCount.length ?? 65536;
    this.autoCreate = o.autoCreate ?? false;
    this.table = o.table ?? null;
    this.vni = new Int32Array(this.maxDomains).fill(NONE);
    this.vlan = new Int32Array(this.maxDomains).fill(NONE);
    this.remoteAddr = new Uint32Array(this.maxRemotes * 4);
    this.remoteV6 = new Uint8Array(this.maxRemotes);
  }

  /**
   * Bumped by every change of domains, ports, port/VLAN bindings or remote
   * membership (add*Domain, addPort, addRemote/addRemoteIp), never otherwise:
   * a reader holding a copy of the flood lists compares it to know they changed.
   */
  get version(): number {
    return this.membership;
  }

  // Read-only views of the lookup maps, for the native bridge stage, which probes them in C.
  get byVni(): ReadonlyKeyPairMap {
    return this.vniMap;
  }

  get byPortVlan(): ReadonlyKeyPairMap {
    return this.portVlanMap;
  }

  get remotePos(): ReadonlyKeyPairMap {
    return this.remotePosMap;
  }

  get byAddr(): ReadonlyKeyPairMap {
    return this.addrMap;
  }

  // ---------------------------------------------------------------- fast-path readers

  domainOfVni(vni: number): number {
    return this.vniMap.get(vni, 0);
  }

  /** Domain bound to (port, VLAN), else the plain domain of the VLAN (auto mode), else -1. */
  domainOfPort(port: number, vlan: number): number {
    return this.portVlanMap.get(port, vlan);
  }

  /** Global index of a registered remote address, or -1. */
  remoteIndex(w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
    const h = addrHash(w0, w1, w2, w3, v6);
    const a = this.remoteAddr;
    for (let step = 0; ; step++) {
      const r = this.addrMap.get(h, step);
      if (r < 0) return -1;
      const b = r << 2;
      if (v6
        ? this.remoteV6[r] === 1 && a[b] === w0 >>> 0 && a[b + 1] === w1 >>> 0 && a[b + 2] === w2 >>> 0 && a[b + 3] === w3 >>> 0
        : this.remoteV6[r] === 0 && a[b] === w0 >>> 0) return r;
    }
  }

  /** Position of a remote inside a domain's list (the encap `outPort`), or -1 when not a member. */
  remotePosition(domain: number, remote: number): number {
    return this.remotePosMap.get(domain, remote);
  }

  /** VLAN tag a copy to `port` leaves with in `domain` (0 untagged), or -1 when not a member. */
  portTagOf(domain: number, port: number): number {
    return this.portTag.get(domain, port);
  }

  // ---------------------------------------------------------------- control path

  addVniDomain(vni: number, o: DomainOptions = {}): number {
    if (!Number.isInteger(vni) || vni < 0 || vni > 0xffffff) throw new RangeError(`VNI must be 0..16777215, got ${vni}`);
    const have = this.vniMap.get(vni, 0);
    if (have >= 0) return have;
    const d = this.newDomain(o.name ?? `vni${vni}`, o.ageingSeconds);
    this.vni[d] = vni;
    this.vniMap.set(vni, 0, d);
    return d;
  }

  /** A plain (not tunnelled) domain for a VLAN id (0 = untagged). */
  addVlanDomain(vlan: number, o: DomainOptions = {}): number {
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094) throw new RangeError(`VLAN id must be 0..4094, got ${vlan}`);
    const have = this.byVlan.get(vlan, 0);
    if (have >= 0) return have;
    const d = this.newDomain(o.name ?? `vlan${vlan}`, o.ageingSeconds);
    this.vlan[d] = vlan;
    this.byVlan.set(vlan, 0, d);
    return d;
  }

  private newDomain(name: string, ageingSeconds?: number): number {
    if (this.count >= this.maxDomains) throw new RangeError(`too many bridge domains (max ${this.maxDomains})`);
    const d = this.count++;
    this.membership++;
    this.names[d] = name;
    this.ports[d] = new Int32Array(0);
    this.portTags[d] = new Int32Array(0);
    this.remotes[d] = new Int32Array(0);
    if (ageingSeconds !== undefined) {
      if (!(ageingSeconds > 0)) throw new RangeError(`ageing must be > 0 seconds, got ${ageingSeconds}`);
      this.table?.setAgeing(d, ageingSeconds);
    }
    return d;
  }

  /** Frames on `port` with VLAN `vlan` (0 = untagged) belong to `domain`; copies leave tagged the same way. */
  addPort(domain: number, port: number, vlan = 0, name?: string): void {
    this.checkDomain(domain);
    if (!Number.isInteger(port) || port < 0 || port >= this.maxPorts) throw new RangeError(`port must be 0..${this.maxPorts - 1}, got ${port}`);
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094) throw new RangeError(`VLAN id must be 0..4094, got ${vlan}`);
    const other = this.portVlanMap.get(port, vlan);
    if (other >= 0 && other !== domain) throw new RangeError(`port ${port} VLAN ${vlan} already belongs to domain ${this.names[other]}`);
    if (name !== undefined) this.portNames[port] = name;
    if (other < 0) {
      this.portVlanMap.set(port, vlan, domain);
      this.membership++;
    }
    if (this.portTag.get(domain, port) >= 0) return;
    this.portTag.set(domain, port, vlan);
    this.membership++;
    this.ports[domain] = Int32Array.from([...this.ports[domain], port]);
    this.portTags[domain] = Int32Array.from([...this.portTags[domain], vlan]);
  }

  /** Register an address (once) and make it a member of `domain`; returns its global index. */
  addRemote(domain: number, w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
    this.checkDomain(domain);
    const r = this.registerRemote(w0, w1, w2, w3, v6);
    if (this.remotePosMap.get(domain, r) < 0) {
      this.remotePosMap.set(domain, r, this.remotes[domain].length);
      this.remotes[domain] = Int32Array.from([...this.remotes[domain], r]);
      this.membership++;
    }
    return r;
  }

  /**
   * Take remote `r` out of `domain` (EVPN: its routes were withdrawn). The
   * remotes after it move up one position, so the caller rebuilds that
   * network's encap templates; the global index stays registered. Returns
   * false when it was not a member.
   */
  removeRemote(domain: number, r: number): boolean {
    this.checkDomain(domain);
    if (this.remotePosMap.get(domain, r) < 0) return false;
    const rest = [...this.remotes[domain]].filter((x) => x !== r);
    this.remotePosMap.delete(domain, r);
    rest.forEach((x, pos) => this.remotePosMap.set(domain, x, pos));
    this.remotes[domain] = Int32Array.from(rest);
    this.membership++;
    return true;
  }

  /** addRemote with an IPv4/IPv6 address string. */
  addRemoteIp(domain: number, ip: string): number {
    const [w0, w1, w2, w3, v6] = parseAddrWords(ip);
    return this.addRemote(domain, w0, w1, w2, w3, v6);
  }

  registerRemote(w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
    const have = this.remoteIndex(w0, w1, w2, w3, v6);
    if (have >= 0) return have;
    if (this.remoteCount >= this.maxRemotes) throw new RangeError(`too many remote VTEPs (max ${this.maxRemotes})`);
    const r = this.remoteCount++;
    const b = r << 2;
    this.remoteAddr[b] = w0;
    this.remoteAddr[b + 1] = v6 ? w1 : 0;
    this.remoteAddr[b + 2] = v6 ? w2 : 0;
    this.remoteAddr[b + 3] = v6 ? w3 : 0;
    this.remoteV6[r] = v6 ? 1 : 0;
    const h = addrHash(w0, w1, w2, w3, v6);
    let step = 0;
    while (this.addrMap.get(h, step) >= 0) step++;
    this.addrMap.set(h, step, r);
    return r;
  }

  /** Text form of a registered remote (IPv4 dotted quad or RFC 5952 IPv6). */
  remoteIp(r: number): string {
    const b = r << 2;
    const a = this.remoteAddr;
    return addrWordsText(a[b], a[b + 1], a[b + 2], a[b + 3], this.remoteV6[r] !== 0);
  }

  portName(port: number): string {
    return this.portNames[port] ?? `port${port}`;
  }

  private checkDomain(d: number): void {
    if (!Number.isInteger(d) || d < 0 || d >= this.count) throw new RangeError(`no bridge domain ${d}`);
  }
}

function addrHash(w0: number, w1: number, w2: number, w3: number, v6: boolean): number {
  let h = Math.imul(w0 ^ 0x27d4eb2f, 0x85ebca6b);
  if (v6) h = Math.imul(h ^ w1, 0xc2b2ae35) ^ Math.imul(w2 ^ (h >>> 13), 0x85ebca6b) ^ Math.imul(w3, 0x165667b1) ^ 1;
  return h ^ (h >>> 16);
}

/** "192.0.2.1" / "2001:db8::1" -> four big-endian words (IPv4 in word 0) and the family. */
export function parseAddrWords(ip: string): [number, number, number, number, boolean] {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) throw new RangeError(`'${ip}' is not an IPv4 address`);
    return [((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0, 0, 0, 0, false];
  }
  const parts = ip.split('::');
  if (parts.length > 2 || !/^[0-9a-fA-F:]+$/.test(ip)) throw new RangeError(`'${ip}' is not an IP address`);
  const head = parts[0] ? parts[0].split(':') : [];
  const tail = parts.length === 2 && parts[1] ? parts[1].split(':') : [];
  const groups = parts.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || groups.some((x) => x.length === 0 || x.length > 4)) throw new RangeError(`'${ip}' is not an IPv6 address`);
  const g = groups.map((x) => parseInt(x, 16));
  return [((g[0] << 16) | g[1]) >>> 0, ((g[2] << 16) | g[3]) >>> 0, ((g[4] << 16) | g[5]) >>> 0, ((g[6] << 16) | g[7]) >>> 0, true];
}

/** Text of an address kept as four big-endian words (IPv4 in word 0), as parseAddrWords reads it. */
export function addrWordsText(w0: number, w1: number, w2: number, w3: number, v6: boolean): string {
  if (!v6) return `${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`;
  const g: number[] = [];
  for (const w of [w0, w1, w2, w3]) g.push(w >>> 16, w & 0xffff);
  return formatIpv6(g);
}

/** RFC 5952 text: lowercase, longest run (>= 2) of zero groups as "::". */
function formatIpv6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

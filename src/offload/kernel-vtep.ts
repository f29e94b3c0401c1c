/**
 * The `kernel` placement: vtepd builds a kernel VXLAN datapath for one network
 * and then only programs and watches it.
 *
 *   local ports ──┐
 *                 ├── bridge (vtbVNI) ── vxlan (vtxVNI, id VNI, local IP, dstport)
 *
 * Remote FDB entries go on the vxlan device (`bridge fdb ... dev vtx self dst IP`;
 * MAC 00:00:00:00:00:00 entries are the head-end replication list), static
 * local MACs on the bridge (`master static`). `sync()` applies the diff between
 * the desired set and what `bridge -j fdb show` reports, so entries the kernel
 * learned are left alone. `destroy()` removes exactly what `create()` made.
 * All changes go through iproute2; its errors surface as IprouteError.
 *
 * Ownership: with `owner`, the devices carry an ifalias naming the process
 * that made them (kernel-owner.ts). create() then takes over the leftovers of
 * an owner that is gone (a vtepd killed with -9): it adopts them when they are
 * what the spec asks for (the kernel kept forwarding meanwhile, and keeps its
 * learned entries), else deletes and rebuilds them. A device of a live vtepd,
 * or one without vtepd's alias, is never touched: create() refuses and says
 * which `ip link del` would free the name.
 */
import { iproute, iprouteJson, IprouteError, type IprouteOptions } from './iproute.js';
import { diffFdb, entryKey, normalizeEntry, FLOOD_MAC, type KernelFdbEntry, type FdbDiff } from './fdb-sync.js';
import { readLinks, type LinkState } from './kernel-links.js';
import { deleteLearned, isForeign, readKernelFdb, type KernelFdbRow } from './kernel-fdb.js';
import { ownerAlias, ownerAlive, parseOwner, type Owner } from './kernel-owner.js';

export interface KernelVtepSpec {
  /** Network namespace to build in (default: the current one). */
  netns?: string;
  vni: number;
  /** Underlay source address of the tunnel (IPv4 or IPv6). */
  local: string;
  dstPort?: number;
  /** Underlay device for the tunnel's traffic. */
  underlayDev?: string;
  ttl?: number;
  /** Outer UDP checksum (see DESIGN.md on udpcsum over veth). Default false. */
  udpChecksum?: boolean;
  /** Let the kernel learn remote MACs from decapsulated frames. Default true. */
  learning?: boolean;
  /**
   * Another control plane (FRR's zebra with EVPN) programs this FDB too: sync()
   * then deletes only entries this object added, never foreign ones (whose
   * head-end replication entries look exactly like vtepd's). Default false:
   * every managed-looking entry that is not desired is removed (drift repair).
   */
  keepForeign?: boolean;
  mtu?: number;
  /** Local interfaces to enslave to the bridge. */
  ports: readonly string[];
  vxlanName?: string;
  bridgeName?: string;
  /** Mark the devices as this process's, and take over leftovers of a dead owner (see above). */
  owner?: Owner;
}

/** What create() did: built new devices, adopted a dead owner's as they were, or deleted and rebuilt them. */
export type CreateOutcome = 'created' | 'adopted' | 'rebuilt';

export interface KernelFdbState {
  remote: KernelFdbEntry[];
  local: KernelFdbEntry[];
}

export interface KernelVtepCounters {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

interface FdbRow {
  mac: string;
  dst?: string;
  ifname?: string;
  master?: string;
  flags?: string[];
  state?: string;
  protocol?: string;
}

export class KernelVtep {
  readonly vxlan: string;
  readonly bridge: string;
  private readonly io: IprouteOptions;
  /** Devices this object created, in creation order (destroy removes them in reverse). */
  private readonly created: string[] = [];
  private readonly enslaved: string[] = [];
  /** Entries sync() added (entryKey), for keepForeign. */
  private readonly owned = new Set<string>();

  constructor(readonly spec: KernelVtepSpec) {
    if (!Number.isInteger(spec.vni) || spec.vni < 0 || spec.vni > 0xffffff) throw new RangeError(`VNI must be 0..16777215, got ${spec.vni}`);
    this.vxlan = spec.vxlanName ?? `vtx${spec.vni}`;
    this.bridge = spec.bridgeName ?? `vtb${spec.vni}`;
    for (const n of [this.vxlan, this.bridge]) if (n.length > 15) throw new RangeError(`interface name "${n}" is longer than 15 characters`);
    this.io = { netns: spec.netns };
  }

  private ip(args: string[]): Promise<string> {
    return iproute('ip', args, this.io);
  }

  private br(args: string[]): Promise<string> {
    return iproute('bridge', args, this.io);
  }

  /** Devices of this namespace by name (with kind and driver data). */
  links(): Promise<Map<string, LinkState>> {
    return readLinks({ netns: this.spec.netns, details: true });
  }

  /**
   * Build bridge + vxlan device and enslave the ports, or take over a dead
   * owner's leftovers; on failure undo what was done and rethrow.
   */
  async create(): Promise<CreateOutcome> {
    const links = await this.links();
    const found = [this.vxlan, this.bridge].filter((d) => links.has(d));
    let outcome: CreateOutcome = 'created';
    if (found.length > 0) {
      for (const dev of found) this.checkLeftover(dev, links.get(dev)!);
      // Ours, and its owner is gone: adopt it as it is when it matches the spec, else rebuild.
      if (found.length === 2 && this.matches(links)) {
        this.created.push(this.bridge, this.vxlan);
        outcome = 'adopted';
      } else {
        for (const dev of found) await this.ip(['link', 'del', dev]);
        outcome = 'rebuilt';
      }
    }
    try {
      if (outcome !== 'adopted') await this.build();
      await this.attach(outcome === 'adopted' ? links : null);
    } catch (e) {
      await this.destroy().catch(() => undefined);
      throw e;
    }
    return outcome;
  }

  /** Throws unless `dev` is a leftover of a vtepd that is gone (and we are allowed to take those over). */
  private checkLeftover(dev: string, l: LinkState): void {
    const o = parseOwner(l.alias);
    const fix = `remove it with "ip ${this.spec.netns ? `-n ${this.spec.netns} ` : ''}link del ${dev}" or use another VNI`;
    if (o === null || this.spec.owner === undefined) throw new IprouteError(`ip link add ${dev}`, `${dev} already exists; vtepd does not take over devices it did not create (${fix})`, null);
    if (ownerAlive(o)) throw new IprouteError(`ip link add ${dev}`, `${dev} belongs to a running vtepd (pid ${o.pid}); stop that one first, or ${fix}`, null);
  }

  /** Whether the existing devices are what this spec would build. */
  private matches(links: Map<string, LinkState>): boolean {
    const s = this.spec;
    const vx = links.get(this.vxlan)!;
    const br = links.get(this.bridge)!;
    const i = vx.info;
    return vx.kind === 'vxlan' && br.kind === 'bridge' && i.id === s.vni && (i.local ?? i.local6) === s.local &&
      i.port === (s.dstPort ?? 4789) && (s.underlayDev === undefined || i.link === s.underlayDev) &&
      (s.ttl === undefined || i.ttl === s.ttl) && i.udp_csum === (s.udpChecksum ?? false) && i.learning === (s.learning !== false);
  }

  private async build(): Promise<void> {
    const s = this.spec;
    await this.ip(['link', 'add', this.bridge, 'type', 'bridge']);
    this.created.push(this.bridge);
    const vx = ['link', 'add', this.vxlan, 'type', 'vxlan', 'id', String(s.vni), 'local', s.local, 'dstport', String(s.dstPort ?? 4789)];
    if (s.underlayDev) vx.push('dev', s.underlayDev);
    if (s.ttl !== undefined) vx.push('ttl', String(s.ttl));
    vx.push(s.udpChecksum ? 'udpcsum' : 'noudpcsum');
    vx.push(s.learning === false ? 'nolearning' : 'learning');
    await this.ip(vx);
    this.created.push(this.vxlan);
    if (s.mtu !== undefined) await this.ip(['link', 'set', this.vxlan, 'mtu', String(s.mtu)]);
  }

  /** Alias, vxlan in the bridge, exactly the spec's ports enslaved (an adopted bridge may hold others), all up. */
  private async attach(adopted: Map<string, LinkState> | null): Promise<void> {
    const s = this.spec;
    if (s.owner !== undefined) {
      for (const dev of [this.bridge, this.vxlan]) await this.ip(['link', 'set', 'dev', dev, 'alias', ownerAlias(s.owner, `vni=${s.vni}`)]);
    }
    await this.ip(['link', 'set', this.vxlan, 'master', this.bridge]);
    for (const [name, l] of adopted ?? []) {
      if (l.master === this.bridge && name !== this.vxlan && !s.ports.includes(name)) await this.ip(['link', 'set', name, 'nomaster']);
    }
    for (const p of s.ports) {
      await this.ip(['link', 'set', p, 'master', this.bridge]);
      this.enslaved.push(p);
      await this.ip(['link', 'set', p, 'up']);
    }
    await this.ip(['link', 'set', this.vxlan, 'up']);
    await this.ip(['link', 'set', this.bridge, 'up']);
  }

  /** Kernel ageing of learned entries: the vxlan device's (seconds) and the bridge's (centiseconds, USER_HZ). */
  async setAgeing(seconds: number): Promise<void> {
    await this.ip(['link', 'set', this.vxlan, 'type', 'vxlan', 'ageing', String(seconds)]);
    await this.ip(['link', 'set', this.bridge, 'type', 'bridge', 'ageing_time', String(seconds * 100)]);
  }

  /** Enslave again the spec's ports that left the bridge (`links`: a fresh readLinks). Returns [port, previous master]. */
  async repairPorts(links: Map<string, LinkState>): Promise<[string, string | null][]> {
    const fixed: [string, string | null][] = [];
    for (const p of this.spec.ports) {
      const l = links.get(p);
      if (l === undefined || l.master === this.bridge) continue;
      await this.ip(['link', 'set', p, 'master', this.bridge]);
      await this.ip(['link', 'set', p, 'up']);
      fixed.push([p, l.master]);
    }
    return fixed;
  }

  /** Every FDB entry, learned and static (kernel-fdb.ts). */
  fdbEntries(): Promise<KernelFdbRow[]> {
    return readKernelFdb({ vxlan: this.vxlan, bridge: this.bridge, ports: this.spec.ports }, this.io);
  }

  /** Delete the kernel's learned entries for `mac` (behind remotes and/or on ports). */
  deleteLearned(mac: string, which: { remote?: boolean; ports?: boolean }): Promise<number> {
    return deleteLearned({ vxlan: this.vxlan, bridge: this.bridge, ports: this.spec.ports }, mac, which, this.io);
  }

  /** The FDB entries vtepd manages, as the kernel reports them (learned entries excluded). */
  async readFdb(): Promise<KernelFdbState> {
    const vx = await iprouteJson<FdbRow>('bridge', ['fdb', 'show', 'dev', this.vxlan], this.io);
    const remote = vx
      .filter((r) => r.dst !== undefined && r.state === 'permanent' && (r.flags ?? []).includes('self') && !isForeign(r))
      .map((r) => ({ mac: r.mac, dst: r.dst }));
    const ports = new Set(this.spec.ports);
    const br = await iprouteJson<FdbRow>('bridge', ['fdb', 'show', 'br', this.bridge], this.io);
    const local = br
      .filter((r) => r.state === 'static' && r.master === this.bridge && r.ifname !== undefined && ports.has(r.ifname) && !isForeign(r))
      .map((r) => ({ mac: r.mac, port: r.ifname }));
    return { remote, local };
  }

  /**
   * Make the kernel's managed FDB equal `desired`: flood remotes become all-zero
   * MAC entries, the rest as given. Returns the diff that was applied.
   */
  async sync(desired: { floodRemotes: readonly string[]; entries: readonly KernelFdbEntry[] }): Promise<FdbDiff> {
    const want = [...desired.floodRemotes.map((dst) => ({ mac: FLOOD_MAC, dst })), ...desired.entries].map(normalizeEntry);
    for (const e of want) {
      if (e.port !== undefined && !this.spec.ports.includes(e.port)) throw new Error(`FDB entry ${e.mac}: port ${e.port} is not a port of ${this.bridge} (${this.spec.ports.join(', ') || 'none'})`);
    }
    const have = await this.readFdb();
    const diff = diffFdb(want, [...have.remote, ...have.local]);
    if (this.spec.keepForeign) diff.del = diff.del.filter((e) => this.owned.has(entryKey(e)));
    for (const e of diff.del) {
      if (e.dst !== undefined) await this.br(['fdb', 'del', e.mac, 'dev', this.vxlan, 'dst', e.dst, 'self']);
      else await this.br(['fdb', 'del', e.mac, 'dev', e.port!, 'master']);
      this.owned.delete(entryKey(e));
    }
    const seen = new Set(have.remote.map((e) => e.mac));
    for (const e of diff.add) {
      if (e.port !== undefined) {
        await this.br(['fdb', 'replace', e.mac, 'dev', e.port, 'master', 'static']);
      } else if (e.mac === FLOOD_MAC || seen.has(e.mac)) {
        // More than one destination for a MAC (the flood list above all): append.
        await this.br(['fdb', 'append', e.mac, 'dev', this.vxlan, 'dst', e.dst!, 'self', 'permanent']);
      } else {
        // First destination of a unicast MAC: replace, so a learned entry becomes static.
        await this.br(['fdb', 'replace', e.mac, 'dev', this.vxlan, 'dst', e.dst!, 'self', 'permanent']);
        seen.add(e.mac);
      }
      this.owned.add(entryKey(e));
    }
    return diff;
  }

  /** The vxlan device's kernel counters (what the kernel datapath moved). */
  async counters(): Promise<KernelVtepCounters> {
    const l = (await readLinks({ netns: this.spec.netns, stats: true })).get(this.vxlan);
    if (!l) throw new IprouteError(`ip -j -s link show dev ${this.vxlan}`, `${this.vxlan} does not exist`, null);
    return { rxPackets: l.rx.packets, rxBytes: l.rx.bytes, rxDropped: l.rx.dropped, txPackets: l.tx.packets, txBytes: l.tx.bytes, txDropped: l.tx.dropped };
  }

  /** Release the ports and delete what create() made (missing devices are fine). */
  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const p of this.enslaved.splice(0).reverse()) {
      await this.ip(['link', 'set', p, 'nomaster']).catch((e: unknown) => errors.push(String((e as Error).message)));
    }
    for (const dev of this.created.splice(0).reverse()) {
      try {
        await this.ip(['link', 'del', dev]);
      } catch (e) {
        if (!(e instanceof IprouteError && /Cannot find device|does not exist/i.test(e.stderr))) errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(`kernel VTEP teardown incomplete: ${errors.join('; ')}`);
  }
}

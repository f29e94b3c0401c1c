/**
 * The xdp plan on a running Dataplane: vtepd's eBPF programs
 * (native-bindings/bpf/vtepd_xdp.bpf.c) attached to the underlay and to every
 * port's interface, with the Dataplane as their slow path.
 *
 * One table: the Dataplane's MAC table is the truth, the programs' FDB map a
 * mirror of it. What the slow path learns, moves, ages or removes reaches the
 * map from the MAC journal (`record`, milliseconds after the frame);
 * `reconcile` rewrites the map from the table by difference (at start, after
 * FDB commands and a journal overflow, and as a periodic safety net). The
 * programs refresh a MAC's last-seen time on every frame they forward, which
 * the table never sees, so `refreshAges` carries those times back into the
 * table before its ager would remove a MAC that is still talking.
 *
 * Devmap slots: a port's slot is its bridge port index; the underlay has the
 * last slot. Remote indexes are the table's global remote indexes.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { Dataplane } from '../pipeline/dataplane.js';
import { XDP_LIMITS } from '../pipeline/run-plan.js';
import { MacFlag, OUT_MASK, PLACE_MASK, TICKS_PER_SECOND, localPlace, remotePlace, ticksOf } from '../l2/mac-table.js';
import type { MacEventKind } from '../l2/mac-journal.js';
import { formatMac, parseMacWords } from '../l2/mac-text.js';
import { openXdpPlan, xdpPlanCounters, xdpRemoteHeader, xdpTunnelHeader, type XdpPlanCounter, type XdpPlanHandle } from '../native/xdp-plan-native.js';

export const UNDERLAY_SLOT = XDP_LIMITS.ports;

export interface XdpAttachment { interface: string; program: 'underlay' | 'port'; mode: 'native' | 'generic' }

export class XdpPlacement {
  readonly attached: XdpAttachment[] = [];
  private readonly links: number[] = [];
  private closed = false;
  /** Entries written into / deleted from the map since start (what the mirror did, for stats). */
  installed = 0;
  removed = 0;
  /** Entries not mirrored: the map full (VTEPD_XDP_MAX_FDB), or a remote without a template yet; those MACs stay on the slow path. */
  refused = 0;

  /** rx_dropped of each attached interface when attached (see `kernelDrops`). */
  private readonly rxDropped0 = new Map<string, number>();
  /** Remote indexes whose template is in the map: an FDB entry may point only at these. */
  private readonly programmed = new Set<number>();

  constructor(private readonly dp: Dataplane, readonly plan: XdpPlanHandle = openXdpPlan()) {}

  /** Everything but the FDB: config, VNIs, ports, devmap slots, remote templates. */
  program(): void {
    const dp = this.dp;
    const cfg = dp.cfg;
    const local = cfg.underlay.address;
    const first = dp.encap.find((e) => e !== null) ?? null;
    const portOf = (type: string, dflt: number) => cfg.networks.find((n) => n.type === type)?.udpPort ?? dflt;
    this.plan.setConfig({
      ...(isIPv4(local) ? { localIp: local } : { localIp6: local }),
      underlaySlot: UNDERLAY_SLOT, udpPort: portOf('vxlan', 4789), genevePort: portOf('geneve', 6081),
      mtu: cfg.underlay.mtu, sportMin: first?.config.sportMin ?? 49152, sportMax: first?.config.sportMax ?? 65535,
    });
    this.plan.setSlot(UNDERLAY_SLOT, ifindexOf(cfg.underlay.interface));
    for (const d of dp.devices) {
      const slot = d.port.index;
      if (slot >= UNDERLAY_SLOT) throw new Error(`xdp: port ${d.iface} has bridge index ${slot}; the devmap holds ${UNDERLAY_SLOT} ports`);
      const ifindex = ifindexOf(d.iface);
      this.plan.setSlot(slot, ifindex);
      for (const m of d.members) {
        const dom = dp.domains.domainOfPort(slot, m.vlan);
        if (dom >= 0) this.plan.setPort(ifindex, dom, slot);
      }
    }
    this.programRemotes();
  }

  /**
   * Per domain: its type, tunnel header and outer UDP checksum; per remote: its
   * Ethernet + IPv4 or IPv6 header. Both are the encap stage's own template
   * bytes (what the slow path sends). The checksum is what the wire gets from
   * the slow path, whichever stage computes it there: over IPv4 when
   * underlay.udpChecksum asks, over IPv6 always. Again after a control plane
   * changed the remotes.
   */
  programRemotes(): void {
    const dp = this.dp;
    const udpCsum = dp.cfg.underlay.udpChecksum;
    for (let dom = 0; dom < dp.domains.count; dom++) {
      const vni = dp.domains.vni[dom];
      if (vni < 0) continue;
      const net = dp.spec.networks.find((n) => n.vni === vni);
      const enc = dp.encap[dom];
      const type = net?.type ?? 'vxlan';
      // Without remotes there is no encap stage: decap only needs the type.
      const hdr = enc ? xdpTunnelHeader(enc.template) : Buffer.alloc(8);
      this.plan.setDomain(dom, vni, type, net?.txUdpPort ?? 0, hdr, { udpCsum, zeroCsum6Tx: false });
      const rs = dp.domains.remotes[dom];
      if (!enc || !rs) continue;
      for (const r of rs) {
        if (r >= XDP_LIMITS.remotes) throw new Error(`xdp: remote ${dp.domains.remoteIp(r)} has index ${r}; the maps hold ${XDP_LIMITS.remotes}`);
        // The program fills the IP protocol, lengths, IPv4 checksum, flow label and the UDP header per frame.
        this.plan.setRemote(r, dp.domains.remoteIp(r), xdpRemoteHeader(enc.template, dp.domains.remotePosition(dom, r)));
        this.programmed.add(r);
      }
    }
  }

  /** Attach the underlay program, then a port program per device. Throws (after detaching what it attached) naming the interface. */
  attach(mode: 'native' | 'generic' = 'native'): void {
    const dp = this.dp;
    try {
      this.attachOne('underlay', dp.cfg.underlay.interface, mode);
      for (const d of dp.devices) this.attachOne('port', d.iface, mode);
    } catch (err) {
      this.detachAll();
      throw err;
    }
  }

  /** Native (driver) XDP first; a driver without it gets generic (skb) XDP, slower but still before the stack. */
  private attachOne(program: 'underlay' | 'port', iface: string, mode: 'native' | 'generic'): void {
    let used = mode;
    let id: number;
    try {
      id = this.plan.attach(program, iface, mode);
    } catch (err) {
      if (mode === 'generic') throw err;
      try {
        id = this.plan.attach(program, iface, 'generic');
        used = 'generic';
      } catch {
        throw err;
      }
    }
    this.links.push(id);
    this.attached.push({ interface: iface, program, mode: used });
    this.rxDropped0.set(iface, rxDropped(iface));
  }

  detachAll(): void {
    for (const id of this.links) this.plan.detach(id);
    this.links.length = 0;
    this.attached.length = 0;
    this.rxDropped0.clear();
  }

  /** One MAC journal record (learned, moved, aged, removed) into the map. */
  record(kind: MacEventKind, domain: number, hi: number, lo: number, place: number): void {
    const mac = formatMac(hi, lo);
    if (kind === 'aged' || kind === 'removed') {
      if (this.plan.delFdb(domain, mac)) this.removed++;
      return;
    }
    this.put(domain, mac, place);
  }

  private put(domain: number, mac: string, place: number): void {
    const remote = (place & MacFlag.REMOTE) !== 0;
    const target = place & OUT_MASK;
    if (remote ? !this.programmed.has(target) : target >= UNDERLAY_SLOT) { this.refused++; return; }
    try {
      this.plan.setFdb(domain, mac, remote ? 'remote' : 'port', target);
      this.installed++;
    } catch {
      this.refused++;
    }
  }

  /** Make the map equal to the table: write what differs, delete what the table no longer has. Returns the changes. */
  reconcile(): { set: number; deleted: number } {
    const dp = this.dp;
    this.programRemotes();
    const want = new Map<string, number>();
    for (const e of dp.table.dump()) {
      want.set(`${e.domain}/${formatMac(e.macHi, e.macLo)}`, e.remote ? remotePlace(e.out) : localPlace(e.out));
    }
    let set = 0, deleted = 0;
    const have = new Set<string>();
    for (const row of this.plan.fdb()) {
      const k = `${row.domain}/${row.mac}`;
      const place = want.get(k);
      const now = placeOf(row.at, row.target);
      if (place === undefined) {
        if (this.plan.delFdb(row.domain, row.mac)) { deleted++; this.removed++; }
        continue;
      }
      have.add(k);
      if ((place & PLACE_MASK) !== now) { this.put(row.domain, row.mac, place); set++; }
    }
    for (const [k, place] of want) {
      if (have.has(k)) continue;
      const slash = k.indexOf('/');
      this.put(Number(k.slice(0, slash)), k.slice(slash + 1), place);
      set++;
    }
    return { set, deleted };
  }

  /** Carry the programs' last-seen times into the table (ticks of the bridge's clock). Returns entries refreshed. */
  refreshAges(): number {
    const dp = this.dp;
    const monoNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, as bpf_ktime_get_ns()
    const nowTicks = ticksOf(Date.now() / 1000); // the bridge's clock (dataplane.ts)
    let n = 0;
    for (const row of this.plan.fdb()) {
      if (row.lastSeenNs === 0) continue;
      const ageTicks = Number((monoNs - BigInt(row.lastSeenNs)) / BigInt(1e9 / TICKS_PER_SECOND));
      const [hi, lo] = parseMacWords(row.mac);
      const place = placeOf(row.at, row.target);
      if (dp.table.refresh(row.domain, hi, lo, place, (nowTicks - Math.max(0, ageTicks)) | 0)) n++;
    }
    return n;
  }

  counters(): Record<XdpPlanCounter | 'kernel-rx-dropped', number> {
    return { ...xdpPlanCounters(this.plan), 'kernel-rx-dropped': this.kernelDrops() };
  }

  /**
   * Frames the kernel dropped on the interfaces the programs run on, since they
   * were attached. A redirect the target refuses is dropped there, counted
   * only by the device (a veth whose peer is not in NAPI mode: GRO off and no
   * XDP program), so it is read from there rather than lost silently.
   */
  kernelDrops(): number {
    let n = 0;
    for (const [iface, at] of this.rxDropped0) n += Math.max(0, rxDropped(iface) - at);
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detachAll();
    this.plan.close();
  }
}

/** A number from this namespace's sysfs entry of `iface` (e.g. `ifindex`, `statistics/rx_dropped`), null when it has none. */
function sysfsNumber(iface: string, file: string): number | null {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/${file}`, 'utf8').trim());
  } catch {
    return null;
  }
}

/** The devmap and the ports map are keyed by ifindex. */
function ifindexOf(iface: string): number {
  const v = sysfsNumber(iface, 'ifindex');
  if (v === null) throw new Error(`xdp: interface ${iface} does not exist`);
  return v;
}

const rxDropped = (iface: string): number => sysfsNumber(iface, 'statistics/rx_dropped') ?? 0;

/** The table's place word of a map row (a port slot is the bridge port index). */
const placeOf = (at: 'port' | 'remote', target: number): number => (at === 'remote' ? remotePlace(target) : localPlace(target));

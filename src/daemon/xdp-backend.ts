/**
 * The xdp data path (`offload: { encap-decap: xdp, forwarding-learning: xdp }`):
 * vtepd's eBPF programs at the driver hook of the underlay and of every port
 * forward what they know (VXLAN decap -> FDB -> redirect to a port; port ->
 * FDB -> template + VXLAN -> redirect to the underlay; port to port), and pass
 * everything else up (XDP_PASS) to the userspace data path, which this class
 * extends unchanged: it learns, floods with head-end replication, ages, and
 * answers the control commands from its one MAC table. The programs' FDB map
 * mirrors that table (src/offload/xdp-placement.ts).
 *
 * Reload: the userspace path switches as in userspace mode, then the programs
 * are detached, re-programmed from the new Dataplane and attached again
 * (meanwhile frames go the slow path: none is lost). Stop: detached before
 * the ports close; a killed daemon's bpf_links die with its file descriptors.
 */
import type { VtepdConfig, StaticFdbEntry } from '../config/config-schema.js';
import type { StatsSnapshot } from '../control/stats.js';
import { HostConfigError } from '../config/host-check.js';
import { XdpPlacement } from '../offload/xdp-placement.js';
import { probeXdpPlan } from '../offload/xdp-probe.js';
import type { BackendContext, FdbFlushFilter } from './backend.js';
import { UserspaceBackend } from './userspace-backend.js';

/** Full map-from-table reconciliation: the safety net behind the journal. */
const RECONCILE_MS = 30_000;

export class XdpBackend extends UserspaceBackend {
  override readonly mode: string = 'xdp';
  private xdp: XdpPlacement | null = null;
  /** Why the programs are not attached (a reload that could not re-attach them), null when they are. */
  private detachedWhy: string | null = null;
  /** Counters of the placements replaced by reloads (the programs' counters restart with each). */
  private carriedXdp: Record<string, number> = {};

  constructor(ctx: BackendContext) {
    super(ctx);
    this.periodic.push(
      { name: 'xdp-ages', everyMs: 250, serial: false, run: () => this.refreshAges() },
      { name: 'xdp-reconcile', everyMs: RECONCILE_MS, serial: true, run: () => { this.xdp?.reconcile(); } },
    );
  }

  override async start(cfg: VtepdConfig): Promise<void> {
    const avail = probeXdpPlan();
    if (!avail.ok) throw new HostConfigError([`offload xdp: ${avail.reason}`]);
    await super.start(cfg);
    try {
      this.place();
    } catch (err) {
      await super.close();
      throw new HostConfigError([`offload xdp: ${(err as Error).message}`]);
    }
  }

  private agesAt = 0;

  /**
   * The programs' last-seen times into the table: every eighth of the shortest
   * ageing time, within 250 ms..1 s, so a busy host's late timer cannot let a
   * MAC that talks through XDP age out (reading the map costs ~1 µs per entry).
   */
  private refreshAges(): void {
    if (this.xdp === null) return;
    const ageing = Math.min(this.cfg.fdb.ageing, ...this.cfg.networks.map((n) => n.ageing ?? this.cfg.fdb.ageing));
    const every = Math.min(1000, Math.max(250, (ageing * 1000) / 8));
    const now = Date.now();
    if (now - this.agesAt < every - 50) return;
    this.agesAt = now;
    this.xdp.refreshAges();
  }

  /** Program and attach a placement on the current Dataplane; the journal feeds its FDB map from now on. */
  private place(): void {
    const x = new XdpPlacement(this.dp);
    try {
      x.program();
      x.reconcile();
      x.attach();
    } catch (err) {
      x.close();
      throw err;
    }
    this.xdp = x;
    this.detachedWhy = null;
    this.journalTap = { record: (k, d, hi, lo, place) => x.record(k, d, hi, lo, place), lost: () => x.reconcile() };
  }

  private unplace(): void {
    const x = this.xdp;
    if (x === null) return;
    this.journalTap = null;
    for (const [k, v] of Object.entries(this.xdpCounters(x))) this.carriedXdp[k] = v;
    x.close();
    this.xdp = null;
  }

  override startedLog(): Record<string, unknown> {
    return { ...super.startedLog(), xdp: this.xdp?.attached ?? [] };
  }

  override status(): Record<string, unknown> {
    return { ...super.status(), xdp: this.xdp === null ? { attached: [], why: this.detachedWhy } : { attached: this.xdp.attached } };
  }

  override stats(): StatsSnapshot {
    const s = super.stats();
    s.xdp = this.xdp === null ? { ...this.carriedXdp } : this.xdpCounters(this.xdp);
    return s;
  }

  override lastStats(): StatsSnapshot { return this.stats(); }

  /** The programs' counters plus the mirror's, added to what earlier placements counted. */
  private xdpCounters(x: XdpPlacement): Record<string, number> {
    const out: Record<string, number> = { ...x.counters(), 'fdb-installed': x.installed, 'fdb-removed': x.removed, 'fdb-not-mirrored': x.refused };
    for (const [k, v] of Object.entries(this.carriedXdp)) out[k] = (out[k] ?? 0) + v;
    return out;
  }

  override fdbAdd(e: StaticFdbEntry): void {
    super.fdbAdd(e);
    this.xdp?.reconcile();
  }

  override fdbDel(vni: number, mac: string): void {
    super.fdbDel(vni, mac);
    this.xdp?.reconcile();
  }

  override fdbFlush(f: FdbFlushFilter): number {
    const n = super.fdbFlush(f);
    this.xdp?.reconcile();
    return n;
  }

  override async apply(cfg: VtepdConfig): Promise<Record<string, unknown>> {
    const r = await super.apply(cfg);
    this.unplace();
    try {
      this.place();
    } catch (err) {
      // The new config runs, on the slow path only: say so everywhere rather than refuse a reload already made.
      this.detachedWhy = (err as Error).message;
      this.log.error({ event: 'xdp-detached', err }, 'xdp programs not attached after the reload: every frame takes the slow path');
      return { ...r, xdp: { attached: [], why: this.detachedWhy } };
    }
    return { ...r, xdp: this.xdp!.attached };
  }

  override async close(): Promise<void> {
    this.unplace();
    await super.close();
  }
}

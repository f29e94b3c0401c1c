/**
 * The userspace data path as a Backend: vtepd's own stages (TypeScript or
 * their C twins) between its ports.
 *
 *  - start: open the underlay and the local ports, build the Dataplane, take frames;
 *  - apply (reload): ports whose config did not change stay open and keep their
 *    rings; only the stages are rebuilt, the MAC table is handed over
 *    (src/l2/handover.ts), and the switch happens between two batches;
 *  - quiesce (SIGTERM): stop taking readiness callbacks, drain what the rings hold.
 *
 * Timers: table ageing every second, next-hop MACs (AF_PACKET underlay)
 * every 15 s, and the MAC journal drained into MAC events every 200 ms, or
 * right after a wakeup that recorded changes while a control plane listens.
 */
import type { CostMeter } from '../cost/meter.js';
import type { TraceResult } from '../pipeline/trace.js';
import { readFileSync } from 'node:fs';
import type { StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import { HostConfigError, missingInterfaces } from '../config/host-check.js';
import { ControlError } from '../control/control-server.js';
import type { StatsSnapshot } from '../control/stats.js';
import { parseAddrWords } from '../l2/bridge-domain.js';
import { handOver } from '../l2/handover.js';
import { MacJournal, type MacEventKind } from '../l2/mac-journal.js';
import { MacFlag, OUT_MASK } from '../l2/mac-table.js';
import { formatMac, parseMacWords } from '../l2/mac-text.js';
import { Dataplane, displayName } from '../pipeline/dataplane.js';
import { HostGuards } from '../pipeline/host-guards.js';
import { closeUnderlay, ethernetUnderlay, openLocalDevices, openUnderlay, replacedLeftovers, underlayKey, type LocalDevice, type Underlay } from '../pipeline/open-ports.js';
import type { Port } from '../ports/port.js';
import { resolveNextHop } from '../ports/neighbour.js';
import { MacEventHub, type Backend, type BackendContext, type FdbFlushFilter, type MacEvent, type MacListener, type Periodic } from './backend.js';
import { carry, fdbEntryStream, portsSnapshot, statsSnapshot, type CarriedStats } from './snapshot.js';

const TICK_MS = 1000;
const NEIGHBOUR_REFRESH_MS = 15_000;
const JOURNAL_MS = 200;

/** Data-plane errors about user input (unknown VNI, not a member) become ControlErrors. */
function user<T>(fn: () => T): T {
  try { return fn(); } catch (e) { throw new ControlError((e as Error).message); }
}

export class UserspaceBackend implements Backend {
  readonly mode: string = 'userspace';
  readonly periodic: Periodic[];
  protected readonly log: BackendContext['log'];
  private readonly startedAt = Date.now();
  protected cfg!: VtepdConfig;
  protected dp!: Dataplane;
  private remoteMacs = new Map<string, string>();
  private readonly guards = new HostGuards();
  /** Network/stage/drop counters of the data planes replaced by reloads. */
  private carried: CarriedStats | null = null;
  private readonly journal = new MacJournal();
  private readonly events: MacEventHub;
  /** A second reader of every journal record (the xdp plan's FDB mirror); `lost` when the ring overflowed. */
  protected journalTap: { record: (kind: MacEventKind, domain: number, hi: number, lo: number, place: number) => void; lost: () => void } | null = null;

  constructor(ctx: BackendContext) {
    this.log = ctx.log;
    this.events = new MacEventHub(ctx.log);
    this.periodic = [
      { name: 'ageing', everyMs: TICK_MS, serial: false, run: () => this.dp.tick() },
      { name: 'mac-events', everyMs: JOURNAL_MS, serial: false, run: () => this.drainJournal() },
      { name: 'neighbours', everyMs: NEIGHBOUR_REFRESH_MS, serial: true, run: () => this.refreshNeighbours() },
    ];
  }

  dataplane(): Dataplane { return this.dp; }

  async start(cfg: VtepdConfig): Promise<void> {
    const missing = missingInterfaces(cfg);
    if (missing.length > 0) throw new HostConfigError(missing);
    this.cfg = cfg;
    const underlay = await openUnderlay(cfg);
    let devices: LocalDevice[] = [];
    try {
      devices = openLocalDevices(cfg, new Map());
      this.guards.sync(cfg);
      await this.resolveRemotes(cfg);
      this.dp = this.build(cfg, devices, underlay);
    } catch (err) {
      this.guards.close();
      for (const d of devices) await d.port.close();
      await closeUnderlay(underlay);
      throw err;
    }
    this.logLeftovers([...devices.map((d) => d.port), ...underlay.ports]);
    this.logBypassOff();
    this.attachJournal(this.dp);
    this.dp.start();
  }

  /** The AF_PACKET underlay without its stack bypass (a kernel without tcx, missing privileges): it works, at a cost per frame. */
  private logBypassOff(): void {
    const f = this.guards.bypassFailure();
    if (f === undefined) return;
    this.log.warn({ event: 'stack-bypass-off', interface: f.interface, reason: f.reason }, 'host-stack bypass not attached: the host stack also receives every tunnel frame (and drops it at the guard socket)');
  }

  /** AF_XDP: say so when an open replaced the XDP program a killed vtepd left on an interface. */
  private logLeftovers(ports: Port[]): void {
    for (const r of replacedLeftovers(ports)) {
      this.log.warn({ event: 'xdp-leftover-replaced', ...r }, 'replaced a leftover vtepd XDP program (a vtepd that stopped without detaching it)');
    }
  }

  startedLog(): Record<string, unknown> {
    return {
      ports: this.dp.devices.map((d) => ({ interface: d.iface, backend: d.backend, members: d.members })),
      networks: this.cfg.networks.map((n) => ({ vni: n.vni, type: n.type, ports: n.ports, remotes: n.remotes })),
      remoteMacs: Object.fromEntries(this.remoteMacs), hostGuards: this.guards.keys(),
      hostStackBypass: this.guards.bypassStatus(),
    };
  }

  status(): Record<string, unknown> {
    return {
      networks: this.cfg.networks.map((n) => ({ vni: n.vni, type: n.type, remotes: n.remotes })),
      remoteMacs: Object.fromEntries(this.remoteMacs),
    };
  }

  /** Counters since start (across reloads: ports kept open keep theirs, networks add up by VNI). */
  stats(): StatsSnapshot {
    const s = statsSnapshot(this.dp, this.startedAt, this.carried);
    const bypass = this.guards.bypassStatus();
    return bypass === undefined ? s : { ...s, hostStackBypass: bypass };
  }
  lastStats(): StatsSnapshot { return this.stats(); }
  costMeter(): CostMeter { return this.dp.meter; }
  ports(): ReturnType<typeof portsSnapshot> { return portsSnapshot(this.dp); }

  fdbShow(vni?: number): ReturnType<typeof fdbEntryStream> {
    return user(() => fdbEntryStream(this.dp, vni));
  }

  fdbAdd(e: StaticFdbEntry): void {
    user(() => this.dp.addStatic(e.vni, e.mac, e.port, e.remote));
    // The same line as kernel mode's: who changed the FDB is in the log, not only in the table.
    this.log.info({ event: 'fdb-add', vni: e.vni, mac: e.mac, ...(e.port !== undefined ? { port: e.port } : { remote: e.remote }) }, 'static FDB entry added');
  }

  fdbDel(vni: number, mac: string): void {
    const [hi, lo] = parseMacWords(mac);
    const dom = user(() => this.dp.domainOf(vni));
    if (!this.dp.table.delete(dom, hi, lo)) throw new ControlError(`no FDB entry for ${mac} in VNI ${vni}`);
    this.log.info({ event: 'fdb-del', vni, mac }, 'FDB entry deleted');
  }

  fdbFlush(f: FdbFlushFilter): number {
    const dp = this.dp;
    const filter: { domain?: number; port?: number; remote?: number } = {};
    if (f.vni !== undefined) filter.domain = user(() => dp.domainOf(f.vni!));
    if (f.port !== undefined) {
      const dev = dp.devices.find((x) => x.members.some((m) => m.name === f.port) || x.iface === f.port);
      if (!dev) throw new ControlError(`no port named ${f.port}`);
      filter.port = dev.port.index;
    }
    if (f.remote !== undefined) {
      const [w0, w1, w2, w3, v6] = parseAddrWords(f.remote);
      const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
      if (r < 0) throw new ControlError(`${f.remote} is not a remote VTEP of any network`);
      filter.remote = r;
    }
    return dp.table.flush(filter);
  }

  onMacEvents(l: MacListener): () => void { return this.events.subscribe(l); }

  trace(count: number, timeoutMs: number): Promise<TraceResult> {
    return this.dp.trace(count, timeoutMs).catch((e: Error) => { throw new ControlError(e.message, 'busy'); });
  }

  private drainSoon = false;

  /** The table records its changes in the journal; with a listener, a wakeup that recorded some drains it right after. */
  private attachJournal(dp: Dataplane): void {
    dp.table.journal = this.journal;
    dp.onJournal = () => {
      if (this.drainSoon || (!this.events.active && this.journalTap === null)) return;
      this.drainSoon = true;
      setImmediate(() => {
        this.drainSoon = false;
        if (this.dp === dp) this.drainJournal(dp);
      });
    };
  }

  /** Journal records → named events (dropped unread when nobody listens). */
  private drainJournal(dp = this.dp): void {
    const lost = this.journal.lost;
    this.journal.lost = 0;
    const tap = this.journalTap;
    if (tap !== null && lost > 0) tap.lost();
    if (!this.events.active) {
      this.journal.drain(tap === null ? () => undefined : tap.record);
      return;
    }
    const names = new Map(dp.devices.map((d) => [d.port.index, displayName(d)]));
    const out: MacEvent[] = [];
    this.journal.drain((kind, domain, hi, lo, place) => {
      tap?.record(kind, domain, hi, lo, place);
      const remote = (place & MacFlag.REMOTE) !== 0;
      out.push({
        kind, vni: dp.domains.vni[domain], mac: formatMac(hi, lo),
        port: remote ? null : names.get(place & OUT_MASK) ?? `port${place & OUT_MASK}`,
        remote: remote ? dp.domains.remoteIp(place & OUT_MASK) : null,
      });
    });
    this.events.emit(out, lost);
  }

  private build(cfg: VtepdConfig, devices: LocalDevice[], underlay: Underlay): Dataplane {
    const dp = new Dataplane({ cfg, devices, underlay, remoteMacs: this.remoteMacs, localMac: underlayMac(cfg) });
    // Logged with a power-of-two back-off so a persistent fault cannot flood the log.
    dp.onError = (port, err) => {
      if ((dp.errors & (dp.errors - 1)) === 0) this.log.error({ event: 'batch-error', port: port.name, errors: dp.errors, err }, 'batch dropped: a stage or port failed');
    };
    return dp;
  }

  /** Next-hop MACs of every remote VTEP (AF_PACKET underlay builds the outer Ethernet header itself). */
  private async resolveRemotes(cfg: VtepdConfig): Promise<boolean> {
    if (!ethernetUnderlay(cfg)) return false;
    const remotes = [...new Set(cfg.networks.flatMap((n) => n.remotes))];
    let changed = false;
    await Promise.all(remotes.map(async (ip) => {
      let mac = cfg.underlay.nextHopMac?.toLowerCase();
      if (mac === undefined) {
        try {
          mac = (await resolveNextHop(ip, { timeoutMs: 2000 })).mac;
        } catch (err) {
          if (!this.remoteMacs.has(ip)) this.log.warn({ remote: ip, err: err }, 'next hop not resolved yet: sending to broadcast until it is');
          return;
        }
      }
      if (this.remoteMacs.get(ip) !== mac) changed = true;
      this.remoteMacs.set(ip, mac);
    }));
    return changed;
  }

  private async refreshNeighbours(): Promise<void> {
    if (!ethernetUnderlay(this.cfg) || !(await this.resolveRemotes(this.cfg))) return;
    this.log.info({ remoteMacs: Object.fromEntries(this.remoteMacs) }, 'next-hop MAC changed: rebuilding encap templates');
    await this.apply(this.cfg).catch((err: Error) => this.log.error({ err }, 'encap templates not rebuilt'));
  }

  async apply(cfg: VtepdConfig): Promise<Record<string, unknown>> {
    const old = this.dp;
    const keep = new Map(old.devices.map((d) => [d.key, d]));
    let underlay = old.underlay;
    let devices: LocalDevice[];
    let dp: Dataplane;
    try {
      if (underlayKey(cfg) !== old.underlay.key) underlay = await openUnderlay(cfg);
      devices = openLocalDevices(cfg, keep);
      try {
        await this.resolveRemotes(cfg);
        dp = this.build(cfg, devices, underlay);
      } catch (err) {
        for (const d of devices) if (!keep.has(d.key)) await d.port.close();
        throw err;
      }
    } catch (err) {
      if (underlay !== old.underlay) await closeUnderlay(underlay);
      throw err;
    }
    try {
      this.guards.sync(cfg);
      this.logBypassOff();
    } catch (err) {
      this.log.warn({ err: err }, 'host-stack guard failed: the kernel may answer tunnel traffic with ICMP unreachable');
    }
    // The switch: synchronous, between two batches.
    old.stop();
    if (underlay === old.underlay) underlay.retarget?.(cfg);
    this.drainJournal(old);
    this.carried = carry(statsSnapshot(old, this.startedAt, this.carried));
    const index = new Map(dp.devices.map((d) => [d.key, d.port.index]));
    dp.remotes.carryFrom(old.remotes); // remotes a control plane added at run time, before the table moves
    const moved = handOver(old, dp, (i) => { const k = old.deviceKeyAt(i); return k === undefined ? undefined : index.get(k); });
    this.attachJournal(dp);
    dp.start();
    this.dp = dp;
    this.cfg = cfg;
    this.logLeftovers([...devices.filter((d) => !keep.has(d.key)).map((d) => d.port), ...(underlay !== old.underlay ? underlay.ports : [])]);
    const kept = new Set(devices.map((d) => d.key));
    const closed = old.devices.filter((d) => !kept.has(d.key));
    for (const d of closed) await d.port.close();
    if (underlay !== old.underlay) await closeUnderlay(old.underlay);
    return {
      keptPorts: devices.filter((d) => keep.has(d.key)).map((d) => d.iface),
      openedPorts: devices.filter((d) => !keep.has(d.key)).map((d) => d.iface), closedPorts: closed.map((d) => d.iface),
      underlayReopened: underlay !== old.underlay, fdbCarried: moved,
    };
  }

  async quiesce(): Promise<Record<string, unknown>> {
    this.dp.stop();
    const drained = this.dp.drain();
    this.drainJournal();
    return { drained };
  }

  async close(): Promise<void> {
    const dp = this.dp;
    for (const d of dp.devices) await d.port.close().catch((err: Error) => this.log.error({ port: d.iface, err }, 'port not closed'));
    await closeUnderlay(dp.underlay).catch((err: Error) => this.log.error({ err }, 'underlay not closed'));
    this.guards.close();
  }
}

/** MAC of the underlay interface (outer source address), from sysfs of this namespace. */
function underlayMac(cfg: VtepdConfig): string {
  if (!ethernetUnderlay(cfg)) return '02:00:00:00:00:01';
  try {
    return readFileSync(`/sys/class/net/${cfg.underlay.interface}/address`, 'utf8').trim();
  } catch {
    throw new Error(`underlay interface ${cfg.underlay.interface} does not exist`);
  }
}

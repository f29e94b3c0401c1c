/**
 * `vtepd run` lifecycle: build the data plane from a config, serve the control
 * socket and the metrics endpoint, and handle signals.
 *
 *  - SIGHUP: reload. The new config is validated first (a bad one is logged and
 *    the old data plane keeps running). Ports whose config did not change stay
 *    open and keep their rings; only the stages are rebuilt, learned MACs are
 *    carried over, and the switch happens between two batches.
 *  - SIGTERM / SIGINT: stop taking readiness callbacks, drain what the rings
 *    hold, log the final counters, close everything, exit 0.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfig, parseListen } from '../config/config-load.js';
import type { VtepdConfig } from '../config/config-schema.js';
import { ControlServer } from '../control/control-server.js';
import { controlHandlers } from './handlers.js';
import { createLogger } from './logger.js';
import { createRegistry, MetricsServer } from './metrics.js';
import { carry, statsSnapshot, type CarriedStats } from './snapshot.js';
import type { StatsSnapshot } from '../control/stats.js';
import { Dataplane } from '../pipeline/dataplane.js';
import { closeUnderlay, ethernetUnderlay, openLocalDevices, openUnderlay, replacedLeftovers, underlayKey, type LocalDevice, type Underlay } from '../pipeline/open-ports.js';
import { resolveNextHop } from '../ports/neighbour.js';
import { HostGuards } from '../pipeline/host-guards.js';
import type { Port } from '../ports/port.js';
import { parseAddrWords } from '../l2/bridge-domain.js';
import { localPlace, remotePlace } from '../l2/mac-table.js';
import { TABLE_COUNTERS, TableCtr } from '../l2/counters.js';

const TICK_MS = 1000;
const NEIGHBOUR_REFRESH_MS = 15_000;

export interface DaemonOptions { configFile: string; cfg: VtepdConfig; logger?: Logger }

export class Daemon {
  readonly startedAt = Date.now();
  readonly log: Logger;
  private cfg: VtepdConfig;
  private dp!: Dataplane;
  private control: ControlServer | null = null;
  private metrics: MetricsServer | null = null;
  private metricsAddr: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private remoteMacs = new Map<string, string>();
  private readonly guards = new HostGuards();
  /** Network/stage/drop counters of the data planes replaced by reloads. */
  private carried: CarriedStats | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done = new Promise<number>((r) => (this.resolveDone = r));

  constructor(private readonly opts: DaemonOptions) {
    this.cfg = opts.cfg;
    this.log = opts.logger ?? createLogger(opts.cfg.log.level);
  }

  dataplane(): Dataplane { return this.dp; }

  /** Counters since start (across reloads: ports kept open keep theirs, networks add up by VNI). */
  stats(): StatsSnapshot { return statsSnapshot(this.dp, this.startedAt, this.carried); }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const underlay = await openUnderlay(cfg);
    let devices: LocalDevice[] = [];
    try {
      devices = openLocalDevices(cfg, new Map());
      this.guards.sync(cfg);
      await this.resolveRemotes(cfg);
      this.dp = this.build(cfg, devices, underlay);
      this.control = new ControlServer({
        path: cfg.control.socket,
        handlers: controlHandlers({ dataplane: () => this.dp, startedAt: this.startedAt, status: () => this.status(), stats: () => this.stats(), reload: () => this.reload() }),
        onError: (err, cmd) => this.log.error({ err, cmd }, 'control command failed'),
      });
      await this.control.listen();
      if (cfg.metrics.enabled) await this.startMetrics(cfg);
    } catch (err) {
      await this.control?.close();
      this.guards.close();
      for (const d of devices) await d.port.close();
      await closeUnderlay(underlay);
      throw err;
    }
    this.logLeftovers([...devices.map((d) => d.port), ...underlay.ports]);
    this.dp.start();
    this.timers.push(setInterval(() => this.dp.tick(), TICK_MS));
    if (ethernetUnderlay(cfg)) this.timers.push(setInterval(() => void this.refreshNeighbours(), NEIGHBOUR_REFRESH_MS));
    const onSignal = (sig: NodeJS.Signals): void => { void this.stop(sig); };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => { void this.reload(); });
    this.log.info({
      event: 'started', config: this.opts.configFile, underlay: cfg.underlay,
      ports: this.dp.devices.map((d) => ({ interface: d.iface, backend: d.backend, members: d.members })),
      networks: cfg.networks.map((n) => ({ vni: n.vni, type: n.type, ports: n.ports, remotes: n.remotes })),
      remoteMacs: Object.fromEntries(this.remoteMacs), hostGuards: this.guards.keys(), control: cfg.control.socket, metrics: this.metricsAddr, offload: cfg.offload,
    }, 'vtepd started');
  }

  status(): Record<string, unknown> {
    return {
      pid: process.pid, config: this.opts.configFile, uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      underlay: this.cfg.underlay, metrics: this.metricsAddr, control: this.cfg.control.socket,
      networks: this.cfg.networks.map((n) => ({ vni: n.vni, type: n.type, remotes: n.remotes })),
      remoteMacs: Object.fromEntries(this.remoteMacs),
    };
  }

  private build(cfg: VtepdConfig, devices: LocalDevice[], underlay: Underlay): Dataplane {
    const dp = new Dataplane({ cfg, devices, underlay, remoteMacs: this.remoteMacs, localMac: underlayMac(cfg) });
    // Logged with a power-of-two back-off so a persistent fault cannot flood the log.
    dp.onError = (port, err) => {
      if ((dp.errors & (dp.errors - 1)) === 0) this.log.error({ event: 'batch-error', port: port.name, errors: dp.errors, err: err.message }, 'batch dropped: a stage or port failed');
    };
    return dp;
  }

  private async startMetrics(cfg: VtepdConfig): Promise<void> {
    const l = parseListen(cfg.metrics.listen)!;
    this.metrics = new MetricsServer(createRegistry(() => this.stats()));
    const a = await this.metrics.listen(l.host, l.port);
    this.metricsAddr = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
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
          if (!this.remoteMacs.has(ip)) this.log.warn({ remote: ip, err: (err as Error).message }, 'next hop not resolved yet: sending to broadcast until it is');
          return;
        }
      }
      if (this.remoteMacs.get(ip) !== mac) changed = true;
      this.remoteMacs.set(ip, mac);
    }));
    return changed;
  }

  private async refreshNeighbours(): Promise<void> {
    if (this.stopping) return;
    if (await this.resolveRemotes(this.cfg)) {
      this.log.info({ remoteMacs: Object.fromEntries(this.remoteMacs) }, 'next-hop MAC changed: rebuilding encap templates');
      await this.reload(this.cfg);
    }
  }

  /** Reload the config file (or apply `next`); one at a time. */
  reload(next?: VtepdConfig): Promise<{ reloaded: boolean; error?: string }> {
    const p = this.busy.then(() => this.doReload(next));
    this.busy = p.catch(() => undefined);
    return p;
  }

  private async doReload(next?: VtepdConfig): Promise<{ reloaded: boolean; error?: string }> {
    if (this.stopping) return { reloaded: false, error: 'stopping' };
    let cfg: VtepdConfig;
    try {
      cfg = next ?? loadConfig(this.opts.configFile);
    } catch (err) {
      this.log.error({ event: 'reload-failed', err: (err as Error).message }, 'reload failed: keeping the running config');
      return { reloaded: false, error: (err as Error).message };
    }
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
      this.log.error({ event: 'reload-failed', err: (err as Error).message }, 'reload failed: keeping the running config');
      return { reloaded: false, error: (err as Error).message };
    }
    try {
      this.guards.sync(cfg);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'host-stack guard failed: the kernel may answer tunnel traffic with ICMP unreachable');
    }
    // The switch: synchronous, between two batches.
    old.stop();
    if (underlay === old.underlay) underlay.retarget?.(cfg);
    this.carried = carry(statsSnapshot(old, this.startedAt, this.carried));
    const moved = carryOver(old, dp);
    dp.start();
    this.dp = dp;
    const prevCfg = this.cfg;
    this.cfg = cfg;
    this.logLeftovers([...devices.filter((d) => !keep.has(d.key)).map((d) => d.port), ...(underlay !== old.underlay ? underlay.ports : [])]);
    const kept = new Set(devices.map((d) => d.key));
    const closed = old.devices.filter((d) => !kept.has(d.key));
    for (const d of closed) await d.port.close();
    if (underlay !== old.underlay) await closeUnderlay(old.underlay);
    this.log.level = cfg.log.level;
    if (cfg.control.socket !== prevCfg.control.socket) this.log.warn('control.socket changes take effect on restart');
    if (cfg.metrics.listen !== prevCfg.metrics.listen || cfg.metrics.enabled !== prevCfg.metrics.enabled) {
      await this.metrics?.close();
      this.metrics = null;
      this.metricsAddr = null;
      if (cfg.metrics.enabled) await this.startMetrics(cfg).catch((err: Error) => this.log.error({ err: err.message }, 'metrics endpoint failed'));
    }
    this.log.info({
      event: 'reloaded', keptPorts: devices.filter((d) => keep.has(d.key)).map((d) => d.iface),
      openedPorts: devices.filter((d) => !keep.has(d.key)).map((d) => d.iface), closedPorts: closed.map((d) => d.iface),
      underlayReopened: underlay !== old.underlay, fdbCarried: moved, offload: cfg.offload,
    }, 'config reloaded');
    return { reloaded: true };
  }

  /** AF_XDP: say so when an open replaced the XDP program a killed vtepd left on an interface. */
  private logLeftovers(ports: Port[]): void {
    for (const r of replacedLeftovers(ports)) {
      this.log.warn({ event: 'xdp-leftover-replaced', ...r }, 'replaced a leftover vtepd XDP program (a vtepd that stopped without detaching it)');
    }
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.busy;
    for (const t of this.timers) clearInterval(t);
    const dp = this.dp;
    dp.stop();
    const drained = dp.drain();
    const counters = this.stats();
    // The final counters are always logged (unless logging is off entirely).
    if (this.log.level !== 'silent' && !this.log.isLevelEnabled('info')) this.log.level = 'info';
    this.log.info({ event: 'stopped', signal, drained, counters }, 'final counters');
    await this.control?.close();
    await this.metrics?.close();
    for (const d of dp.devices) await d.port.close();
    await closeUnderlay(dp.underlay);
    this.guards.close();
    this.resolveDone(0);
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

/** Learned and runtime-static entries whose VNI and place still exist move to the new table. */
function carryOver(old: Dataplane, dp: Dataplane): number {
  let n = 0;
  const idx = new Map(dp.devices.map((d) => [d.key, d.port.index]));
  for (const e of old.table.dump()) {
    const dom = dp.domains.domainOfVni(old.domains.vni[e.domain]);
    if (dom < 0) continue;
    let place: number;
    if (e.remote) {
      const [w0, w1, w2, w3, v6] = parseAddrWords(old.domains.remoteIp(e.out));
      const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
      if (r < 0 || dp.domains.remotePosition(dom, r) < 0) continue;
      place = remotePlace(r);
    } else {
      const key = old.deviceKeyAt(e.out);
      const p = key === undefined ? undefined : idx.get(key);
      if (p === undefined || dp.domains.portTagOf(dom, p) < 0) continue;
      place = localPlace(p);
    }
    if (e.static) dp.table.addStatic(dom, e.macHi, e.macLo, place, e.stamp);
    else dp.table.learn(dom, e.macHi, e.macLo, place, e.stamp);
    n++;
  }
  // Carried entries were learned before: the carried counters already hold them.
  for (let d = 0; d < dp.domains.count; d++) dp.table.counters[d * TABLE_COUNTERS.length + TableCtr.learned] = 0;
  return n;
}

/**
 * `vtepd run`, whatever the data path: the one lifecycle around a Backend.
 *
 *  start:   bind the control socket (a live daemon on it is found before any
 *           device is touched), start the backend, the metrics endpoint, the
 *           timers and the signal handlers, log `started`;
 *  SIGHUP:  reload. The config is read and parsed off the event loop (a FIFO,
 *           /dev/zero or a 4 MiB file never stalls forwarding); a config that
 *           fails is logged and the running one stays;
 *  SIGTERM: stop. The control socket closes first (no new requests; requests
 *           of its clients not yet started are dropped), then, after the
 *           operation in progress, the backend drains, the final counters are
 *           logged, and everything is released.
 *
 * The operation queue: control commands that read or change the data path,
 * reloads, the backend's serial timers, control planes' FDB calls and the stop
 * run one at a time, in order. An operation whose client has gone is skipped;
 * one queued after the stop began is refused.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { parseListen } from '../config/config-load.js';
import { loadConfigOffThread } from '../config/config-worker.js';
import type { StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import { ControlError, ControlServer } from '../control/control-server.js';
import type { FdbEntryJson } from '../control/fdb-entry.js';
import type { Backend, MacListener } from './backend.js';
import { controlApi } from './control-api.js';
import { createRegistry } from './metrics.js';
import { MetricsServer } from './metrics-server.js';

export interface LifecycleOptions { configFile: string; cfg: VtepdConfig; backend: Backend; log: Logger }
export interface ReloadResult { reloaded: boolean; error?: string }

/** What a control plane (BGP EVPN, ...) gets from the daemon: the FDB through the queue, MAC events, the config. */
export interface ControlPlaneApi {
  config(): VtepdConfig;
  fdbShow(vni?: number): Promise<FdbEntryJson[]>;
  /** Install a static entry, e.g. a remote MAC learned from a route (the remote must be one of the network's). */
  fdbAdd(e: StaticFdbEntry): Promise<void>;
  fdbDel(vni: number, mac: string): Promise<void>;
  onMacEvents(l: MacListener): () => void;
  /** Apply a changed config (say, remotes discovered by the control plane) as a reload would. */
  apply(cfg: VtepdConfig): Promise<ReloadResult>;
}

/** Something that drives the data path from outside (a routing protocol); attached before start. */
export interface ControlPlane {
  readonly name: string;
  start(api: ControlPlaneApi): Promise<void>;
  /** After every successful reload (SIGHUP re-reads the file: what the plane applied on top may need applying again). */
  reloaded?(cfg: VtepdConfig): void;
  stop(): Promise<void>;
  /** The plane's own control command (`<name>.show`, e.g. `vtepd evpn show`); see control-api.ts. */
  show?(args: Record<string, unknown>): Promise<unknown>;
  /** Add the plane's metrics to the daemon's registry (read at scrape time). */
  registerMetrics?(reg: Registry): void;
}

interface QueueOptions { signal?: AbortSignal; duringStop?: boolean }

export class Lifecycle {
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly backend: Backend;
  private cfg: VtepdConfig;
  private control: ControlServer | null = null;
  private metrics: MetricsServer | null = null;
  private metricsAddr: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private pendingReload: Promise<ReloadResult> | null = null;
  private readonly planes: ControlPlane[] = [];
  private readonly signals: [NodeJS.Signals, () => void][] = [];
  private stopping = false;
  private resolveStarted!: () => void;
  /** Resolves once the backend runs: commands that arrive earlier (the socket is bound first) wait for it. */
  readonly started = new Promise<void>((r) => (this.resolveStarted = r));
  private resolveDone!: (code: number) => void;
  /** Resolves with the exit code once the daemon has stopped. */
  readonly done = new Promise<number>((r) => (this.resolveDone = r));

  constructor(private readonly o: LifecycleOptions) {
    this.cfg = o.cfg;
    this.log = o.log;
    this.backend = o.backend;
  }

  config(): VtepdConfig { return this.cfg; }

  /** Run `fn` after every operation queued before it, alone. */
  serial<T>(fn: () => T | Promise<T>, o: QueueOptions = {}): Promise<T> {
    const p = this.queue.then(() => {
      if (o.signal?.aborted) throw new ControlError('the client has gone', 'failed');
      if (this.stopping && !o.duringStop) throw new ControlError('vtepd is stopping', 'busy');
      return fn();
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Add a control plane; it starts after the data path and stops before it. */
  attach(cp: ControlPlane): void { this.planes.push(cp); }

  /** The attached control plane called `name` (control commands of planes). */
  plane(name: string): ControlPlane | undefined { return this.planes.find((p) => p.name === name); }

  async start(): Promise<void> {
    const cfg = this.cfg;
    // From the first moment: a SIGTERM while devices are being built waits for the build, then stops
    // (the default action would exit half way and leave them behind).
    this.onSignal('SIGTERM', () => void this.started.then(() => this.stop('SIGTERM')));
    this.onSignal('SIGINT', () => void this.started.then(() => this.stop('SIGINT')));
    this.onSignal('SIGHUP', () => void this.reload());
    try {
      await this.startAll(cfg);
    } catch (err) {
      this.offSignals();
      throw err;
    }
  }

  private async startAll(cfg: VtepdConfig): Promise<void> {
    this.control = new ControlServer({
      path: cfg.control.socket,
      handlers: controlApi(this),
      onError: (err, cmd) => this.log.error({ err, cmd }, 'control command failed'),
    });
    // First: a daemon already on this socket is found before any port or device is touched.
    await this.control.listen();
    try {
      await this.serial(() => this.backend.start(cfg));
    } catch (err) {
      await this.control.close();
      throw err;
    }
    try {
      if (cfg.metrics.enabled) await this.startMetrics(cfg);
      for (const cp of this.planes) await cp.start(this.planeApi());
    } catch (err) {
      await this.control.close();
      await this.metrics?.close();
      await this.backend.close();
      throw err;
    }
    for (const p of this.backend.periodic) {
      const run = (): Promise<void> => Promise.resolve().then(() => p.run());
      this.timers.push(setInterval(() => {
        (p.serial ? this.serial(run) : run()).catch((err: Error) => {
          if (!this.stopping) this.log.error({ event: `${p.name}-failed`, err }, `${p.name} failed`);
        });
      }, p.everyMs));
    }
    this.resolveStarted();
    this.log.info({
      event: 'started', mode: this.backend.mode, config: this.o.configFile, underlay: cfg.underlay, ...this.backend.startedLog(),
      control: cfg.control.socket, metrics: this.metricsAddr, offload: cfg.offload, controlPlanes: this.planes.map((p) => p.name),
    }, this.backend.mode === 'userspace' ? 'vtepd started' : `vtepd started (${this.backend.mode} data path)`);
  }

  private onSignal(sig: NodeJS.Signals, fn: () => void): void {
    process.on(sig, fn);
    this.signals.push([sig, fn]);
  }

  private offSignals(): void {
    for (const [sig, fn] of this.signals.splice(0)) process.off(sig, fn);
  }

  status(): Record<string, unknown> {
    return {
      pid: process.pid, mode: this.backend.mode, config: this.o.configFile, uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      underlay: this.cfg.underlay, metrics: this.metricsAddr, control: this.cfg.control.socket,
      controlClients: this.control?.connections ?? 0, ...this.backend.status(),
    };
  }

  /** Reload the config file (or apply `next`). SIGHUPs that arrive while one is waiting share it. */
  reload(next?: VtepdConfig): Promise<ReloadResult> {
    if (next === undefined && this.pendingReload !== null) return this.pendingReload;
    const p = this.serial(() => {
      if (next === undefined) this.pendingReload = null;
      return this.doReload(next);
    }).catch((err: Error) => ({ reloaded: false, error: err.message }));
    if (next === undefined) this.pendingReload = p;
    return p;
  }

  private async doReload(next?: VtepdConfig): Promise<ReloadResult> {
    const fail = (error: string): ReloadResult => {
      this.log.error({ event: 'reload-failed', err: error }, 'reload failed: keeping the running config');
      return { reloaded: false, error };
    };
    let cfg: VtepdConfig;
    try {
      cfg = next ?? await loadConfigOffThread(this.o.configFile);
    } catch (err) {
      return fail((err as Error).message);
    }
    let details: Record<string, unknown>;
    try {
      details = await this.backend.apply(cfg);
    } catch (err) {
      return fail((err as Error).message);
    }
    const prev = this.cfg;
    this.cfg = cfg;
    this.log.level = cfg.log.level;
    if (cfg.control.socket !== prev.control.socket) this.log.warn('control.socket changes take effect on restart');
    if (cfg.metrics.listen !== prev.metrics.listen || cfg.metrics.enabled !== prev.metrics.enabled) {
      await this.metrics?.close();
      this.metrics = null;
      this.metricsAddr = null;
      if (cfg.metrics.enabled) await this.startMetrics(cfg).catch((err: Error) => this.log.error({ err }, 'metrics endpoint failed'));
    }
    this.log.info({ event: 'reloaded', ...details, offload: cfg.offload }, 'config reloaded');
    for (const cp of this.planes) {
      try { cp.reloaded?.(cfg); } catch (err) { this.log.error({ plane: cp.name, err: err }, 'control plane reload hook failed'); }
    }
    return { reloaded: true };
  }

  private async startMetrics(cfg: VtepdConfig): Promise<void> {
    const l = parseListen(cfg.metrics.listen)!;
    const reg = createRegistry(() => this.backend.lastStats(), { meter: () => this.backend.costMeter?.() ?? null, mode: this.backend.mode });
    for (const cp of this.planes) cp.registerMetrics?.(reg);
    this.metrics = new MetricsServer(reg);
    const a = await this.metrics.listen(l.host, l.port);
    this.metricsAddr = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  private planeApi(): ControlPlaneApi {
    const b = this.backend;
    return {
      config: () => this.cfg,
      fdbShow: (vni) => this.serial(async () => [...(await b.fdbShow(vni))]),
      fdbAdd: (e) => this.serial(() => b.fdbAdd(e)),
      fdbDel: (vni, mac) => this.serial(() => b.fdbDel(vni, mac)),
      onMacEvents: (l) => b.onMacEvents(l),
      apply: (cfg) => this.reload(cfg),
    };
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    // No new requests; the connections' queued requests are dropped, the running one finishes below.
    await this.control?.close();
    for (const cp of this.planes) await cp.stop().catch((err: Error) => this.log.error({ plane: cp.name, err }, 'control plane stop failed'));
    await this.serial(async () => {
      const extra = await this.backend.quiesce();
      const counters = await Promise.resolve().then(() => this.backend.stats()).catch(() => this.backend.lastStats());
      // The final counters are always logged (unless logging is off entirely).
      if (this.log.level !== 'silent' && !this.log.isLevelEnabled('info')) this.log.level = 'info';
      this.log.info({ event: 'stopped', signal, ...extra, counters }, 'final counters');
    }, { duringStop: true }).catch((err: Error) => this.log.error({ err }, 'final counters not logged'));
    await this.metrics?.close();
    await this.backend.close();
    this.offSignals(); // until here a second SIGTERM must not kill the process half way through the teardown
    this.resolveDone(0);
  }
}

/**
 * `vtepd run` with the kernel data path (offload encap-decap: kernel and
 * forwarding-learning: kernel). Per network vtepd builds a KernelVtep (vxlan
 * device vtxVNI bound to underlay.interface + bridge vtbVNI with the network's
 * port interfaces) and from then on only programs and watches it: no frame
 * passes through vtepd.
 *
 * Desired state, mirrored into the kernel by diff (KernelVtep.sync):
 *  - flood list: networks[].remotes (all-zero MAC entries on the vxlan device);
 *  - static entries: fdb.static plus what `vtepd fdb add` added at run time
 *    (remote → `dst IP` on the vxlan device, port → `master static` on the bridge).
 * Learned entries are the kernel's; `fdb del`/`fdb flush` delete them there.
 *
 *  - every WATCH_MS: devices, enslaved ports and the managed FDB are compared
 *    with the desired state and repaired (logged), so changes made behind
 *    vtepd's back do not last;
 *  - SIGHUP: reload; networks whose devices would differ are rebuilt, removed
 *    ones destroyed, new ones created, the rest re-synced. A reload that fails
 *    half way is rolled back to the running config;
 *  - SIGTERM / SIGINT: log the final counters, destroy every device vtepd
 *    created (ports are released, not deleted), exit 0.
 *
 * Ageing: vxlan `ageing` and bridge `ageing_time` are set from the network's
 * ageing (else fdb.ageing). fdb.maxEntries/perPortLimit/perRemoteLimit/full,
 * batch.size and underlay.mtu/nextHopMac have no kernel counterpart here and
 * are ignored (logged at start); the vxlan MTU is the kernel's (underlay − 50).
 */
import type { FdbEntryJson } from '../control/fdb-entry.js';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { loadConfig, parseListen } from '../config/config-load.js';
import type { NetworkConfig, StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import { ControlError, ControlServer } from '../control/control-server.js';
import { kernelControlHandlers, type FlushFilter } from './kernel-handlers.js';
import { createLogger } from './logger.js';
import { createRegistry, MetricsServer } from './metrics.js';
import type { NetworkStats, PortStats, StatsSnapshot } from '../control/stats.js';
import { KernelVtep, type KernelVtepSpec } from '../offload/kernel-vtep.js';
import { FLOOD_MAC, type FdbDiff, type KernelFdbEntry } from '../offload/fdb-sync.js';
import { iproute, iprouteJson, IprouteError } from '../offload/iproute.js';
import { probeKernelLinks, readKernelConfig, type Avail, type KernelLinkType } from '../offload/host-probe.js';
import { describePlan, kernelDataPath, kernelHostProblems } from '../pipeline/run-plan.js';

/** How often the kernel state is compared with the desired one. */
export const WATCH_MS = 5000;

interface Net {
  cfg: NetworkConfig;
  vtep: KernelVtep;
  /** JSON of the KernelVtepSpec: a different key means the devices must be rebuilt. */
  key: string;
  ageing: number;
  /** Port interface → config port name. */
  names: Map<string, string>;
}

/** A static entry: from fdb.static, or added through the control socket (kept over reloads). */
interface Static { e: StaticFdbEntry; runtime: boolean }

interface FdbRow { mac: string; ifname?: string; dst?: string; master?: string; flags?: string[]; state?: string; updated?: number }
interface LinkRow {
  ifname: string; master?: string; operstate?: string; flags?: string[];
  stats64?: { rx: Record<string, number>; tx: Record<string, number> };
}

export interface KernelDaemonOptions { configFile: string; cfg: VtepdConfig; logger?: Logger }

const staticKey = (vni: number, mac: string): string => `${vni}/${mac.toLowerCase()}`;

export class KernelDaemon {
  readonly startedAt = Date.now();
  readonly log: Logger;
  private cfg: VtepdConfig;
  private nets = new Map<number, Net>();
  private statics = new Map<string, Static>();
  /** TAP devices vtepd created for tap ports that did not exist (deleted again when unused). */
  private taps = new Set<string>();
  private links: Record<KernelLinkType, Avail> | null = null;
  private control: ControlServer | null = null;
  private metrics: MetricsServer | null = null;
  private metricsAddr: string | null = null;
  private lastStats: StatsSnapshot | null = null;
  private timers: NodeJS.Timeout[] = [];
  private busy: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private resolveDone!: (code: number) => void;
  readonly done = new Promise<number>((r) => (this.resolveDone = r));

  constructor(private readonly opts: KernelDaemonOptions) {
    this.cfg = opts.cfg;
    this.log = opts.logger ?? createLogger(opts.cfg.log.level);
  }

  /** One kernel-changing operation at a time (control commands, watch, reload, stop). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.busy.then(fn);
    this.busy = p.catch(() => undefined);
    return p;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    if (!kernelDataPath(cfg.offload)) throw new Error(`KernelDaemon needs offload encap-decap and forwarding-learning kernel, not ${describePlan(cfg.offload)}`);
    this.links = await probeKernelLinks(readKernelConfig());
    const problems = this.problems(cfg);
    if (problems.length > 0) throw new Error(`the kernel data path cannot be built:\n  - ${problems.join('\n  - ')}`);
    this.statics = configStatics(cfg, new Map());
    try {
      await this.apply(cfg);
      this.control = new ControlServer({
        path: cfg.control.socket,
        handlers: kernelControlHandlers(this.view()),
        onError: (err, cmd) => this.log.error({ err: err.message, cmd }, 'control command failed'),
      });
      await this.control.listen();
      this.lastStats = await this.snapshot();
      if (cfg.metrics.enabled) await this.startMetrics(cfg);
    } catch (err) {
      await this.control?.close();
      this.control = null;
      await this.teardown();
      throw err;
    }
    this.timers.push(setInterval(() => void this.serial(() => this.watch()).catch((err: Error) => this.log.error({ event: 'watch-failed', err: err.message }, 'kernel watch failed')), WATCH_MS));
    const onSignal = (sig: NodeJS.Signals): void => { void this.stop(sig); };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => { void this.reload(); });
    const ignored = ignoredSettings(cfg);
    if (ignored.length > 0) this.log.warn({ ignored }, 'settings without a kernel counterpart are ignored in kernel mode');
    this.log.info({
      event: 'started', mode: 'kernel', config: this.opts.configFile, underlay: cfg.underlay,
      networks: [...this.nets.values()].map((n) => this.netStatus(n)), taps: [...this.taps],
      control: cfg.control.socket, metrics: this.metricsAddr, offload: cfg.offload,
    }, 'vtepd started (kernel data path)');
  }

  /** Host and config problems that would make apply() fail half way: checked before anything changes. */
  private problems(cfg: VtepdConfig): string[] {
    const out = kernelHostProblems(cfg, this.links!);
    if (!existsSync(`/sys/class/net/${cfg.underlay.interface}`)) out.push(`underlay.interface: ${cfg.underlay.interface} does not exist`);
    const ours = new Set([...this.nets.values()].map((n) => n.vtep.bridge));
    const used = new Set(cfg.networks.flatMap((n) => n.ports));
    cfg.ports.forEach((p, i) => {
      if (!used.has(p.name) || p.interface === undefined) return;
      const at = `ports[${i}] (${p.name})`;
      if (!existsSync(`/sys/class/net/${p.interface}`)) {
        if (p.backend !== 'tap') out.push(`${at}: interface ${p.interface} does not exist`);
        return;
      }
      const master = masterOf(p.interface);
      if (master !== null && !ours.has(master)) out.push(`${at}: interface ${p.interface} is already enslaved to ${master}; vtepd does not take ports from another master`);
    });
    return out;
  }

  private spec(cfg: VtepdConfig, n: NetworkConfig): { spec: KernelVtepSpec; names: Map<string, string> } {
    const names = new Map<string, string>();
    for (const name of n.ports) {
      const p = cfg.ports.find((x) => x.name === name)!;
      names.set(p.interface!, name);
    }
    const u = cfg.underlay;
    return {
      spec: { vni: n.vni, local: u.address, dstPort: n.udpPort, underlayDev: u.interface, ttl: u.ttl, udpChecksum: u.udpChecksum, learning: true, ports: [...names.keys()] },
      names,
    };
  }

  /**
   * Make the kernel match `cfg` and this.statics: devices whose spec changed are
   * rebuilt, removed networks destroyed, new ones created, every FDB synced.
   */
  private async apply(cfg: VtepdConfig): Promise<void> {
    const want = new Map(cfg.networks.map((n) => [n.vni, { n, ...this.spec(cfg, n) }]));
    for (const [vni, cur] of [...this.nets]) {
      const w = want.get(vni);
      if (w !== undefined && JSON.stringify(w.spec) === cur.key) continue;
      await cur.vtep.destroy();
      this.nets.delete(vni);
      this.log.info({ event: 'network-removed', vni, devices: [cur.vtep.vxlan, cur.vtep.bridge], rebuilt: w !== undefined }, w ? 'devices changed: rebuilding' : 'network removed: devices destroyed');
    }
    for (const p of cfg.ports) {
      if (p.backend !== 'tap' || p.interface === undefined) continue;
      if (!cfg.networks.some((n) => n.ports.includes(p.name)) || existsSync(`/sys/class/net/${p.interface}`)) continue;
      await iproute('ip', ['tuntap', 'add', 'dev', p.interface, 'mode', 'tap']);
      this.taps.add(p.interface);
      this.log.info({ event: 'tap-created', interface: p.interface }, 'created a persistent TAP device for a tap port');
    }
    for (const [vni, w] of want) {
      let net = this.nets.get(vni);
      if (net === undefined) {
        const vtep = new KernelVtep(w.spec);
        await vtep.create();
        net = { cfg: w.n, vtep, key: JSON.stringify(w.spec), ageing: -1, names: w.names };
        this.nets.set(vni, net);
        quietIpv6([vtep.vxlan, vtep.bridge]);
        this.log.info({ event: 'network-created', vni, vxlan: vtep.vxlan, bridge: vtep.bridge, ports: w.spec.ports }, 'kernel devices created');
      }
      net.cfg = w.n;
      net.names = w.names;
      const ageing = w.n.ageing ?? cfg.fdb.ageing;
      if (ageing !== net.ageing) {
        await iproute('ip', ['link', 'set', net.vtep.vxlan, 'type', 'vxlan', 'ageing', String(ageing)]);
        // Bridge ageing_time is in centiseconds (USER_HZ).
        await iproute('ip', ['link', 'set', net.vtep.bridge, 'type', 'bridge', 'ageing_time', String(ageing * 100)]);
        net.ageing = ageing;
      }
      const d = await net.vtep.sync(this.desired(net));
      if (d.add.length + d.del.length > 0) this.log.info({ event: 'fdb-synced', vni, ...diffLog(d) }, 'kernel FDB synced');
    }
    const tapsInUse = new Set(cfg.ports.filter((p) => cfg.networks.some((n) => n.ports.includes(p.name))).map((p) => p.interface));
    for (const t of [...this.taps]) {
      if (tapsInUse.has(t)) continue;
      await iproute('ip', ['tuntap', 'del', 'dev', t, 'mode', 'tap']).catch((e: Error) => this.log.warn({ interface: t, err: e.message }, 'TAP device not deleted'));
      this.taps.delete(t);
    }
  }

  private desired(net: Net): { floodRemotes: string[]; entries: KernelFdbEntry[] } {
    const ifaceOf = new Map([...net.names].map(([i, n]) => [n, i]));
    const entries: KernelFdbEntry[] = [];
    for (const { e } of this.statics.values()) {
      if (e.vni !== net.cfg.vni) continue;
      entries.push(e.remote !== undefined ? { mac: e.mac, dst: e.remote } : { mac: e.mac, port: ifaceOf.get(e.port!) ?? e.port });
    }
    return { floodRemotes: net.cfg.remotes, entries };
  }

  /** Periodic check: devices present, ports enslaved, managed FDB as desired; repairs are logged. */
  private async watch(): Promise<void> {
    if (this.stopping) return;
    const links = new Map((await iprouteJson<LinkRow>('ip', ['link', 'show'])).map((l) => [l.ifname, l]));
    for (const [vni, net] of this.nets) {
      const v = net.vtep;
      const missing = [v.vxlan, v.bridge].filter((d) => !links.has(d));
      if (missing.length > 0) {
        this.log.warn({ event: 'repair', vni, missing }, 'kernel devices disappeared: rebuilding them');
        await v.destroy().catch(() => undefined);
        const vtep = new KernelVtep(v.spec);
        await vtep.create();
        quietIpv6([vtep.vxlan, vtep.bridge]);
        this.nets.set(vni, { ...net, vtep, ageing: -1 });
        continue;
      }
      for (const p of v.spec.ports) {
        const l = links.get(p);
        if (l === undefined || l.master === v.bridge) continue;
        await iproute('ip', ['link', 'set', p, 'master', v.bridge]);
        await iproute('ip', ['link', 'set', p, 'up']);
        this.log.warn({ event: 'repair', vni, port: p, was: l.master ?? null }, 'port was taken out of the bridge: enslaved again');
      }
      const d = await v.sync(this.desired(net));
      if (d.add.length + d.del.length > 0) this.log.warn({ event: 'repair', vni, ...diffLog(d) }, 'kernel FDB changed behind vtepd: repaired');
    }
    // Rebuilt networks need their ageing set again.
    if ([...this.nets.values()].some((n) => n.ageing < 0)) await this.apply(this.cfg);
    this.lastStats = await this.snapshot();
  }

  private netStatus(n: Net): Record<string, unknown> {
    return {
      vni: n.cfg.vni, name: n.cfg.name ?? null, type: n.cfg.type, remotes: n.cfg.remotes, udpPort: n.cfg.udpPort,
      devices: { vxlan: n.vtep.vxlan, bridge: n.vtep.bridge }, ports: [...n.names].map(([iface, name]) => ({ name, interface: iface })), ageing: n.ageing,
    };
  }

  status(): Record<string, unknown> {
    return {
      pid: process.pid, mode: 'kernel', config: this.opts.configFile, uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      plan: describePlan(this.cfg.offload), offload: this.cfg.offload,
      underlay: this.cfg.underlay, metrics: this.metricsAddr, control: this.cfg.control.socket,
      networks: [...this.nets.values()].map((n) => this.netStatus(n)), taps: [...this.taps],
      staticEntries: [...this.statics.values()].map((s) => ({ ...s.e, runtime: s.runtime })),
      watchSeconds: WATCH_MS / 1000,
    };
  }

  private view(): Parameters<typeof kernelControlHandlers>[0] {
    return {
      status: () => this.status(),
      stats: () => this.serial(async () => (this.lastStats = await this.snapshot())),
      ports: () => this.serial(() => this.portStats()),
      fdbShow: (vni) => this.serial(() => this.fdbShow(vni)),
      fdbAdd: (vni, mac, port, remote) => this.serial(() => this.fdbAdd(vni, mac, port, remote)),
      fdbDel: (vni, mac) => this.serial(() => this.fdbDel(vni, mac)),
      fdbFlush: (f) => this.serial(() => this.fdbFlush(f)),
      reload: () => this.reload(),
    };
  }

  private netOf(vni: number): Net {
    const n = this.nets.get(vni);
    if (n === undefined) throw new ControlError(`no network with VNI ${vni}`);
    return n;
  }

  private async portStats(): Promise<PortStats[]> {
    const links = new Map((await iprouteJson<LinkRow>('ip', ['-s', 'link', 'show'])).map((l) => [l.ifname, l]));
    const out: PortStats[] = [];
    const row = (l: LinkRow | undefined, name: string, iface: string, backend: string, role: PortStats['role'], vni: number): PortStats => {
      const rx = l?.stats64?.rx ?? {};
      const tx = l?.stats64?.tx ?? {};
      const up = l !== undefined && (l.operstate === 'UP' || (l.operstate === 'UNKNOWN' && (l.flags ?? []).includes('UP')));
      return {
        name, interface: iface, backend, role, vni, vlan: null, up,
        rxPackets: rx.packets ?? 0, rxBytes: rx.bytes ?? 0, txPackets: tx.packets ?? 0, txBytes: tx.bytes ?? 0,
        drops: (rx.dropped ?? 0) + (tx.dropped ?? 0), kernelDrops: 0,
      };
    };
    for (const n of this.nets.values()) {
      for (const [iface, name] of n.names) out.push(row(links.get(iface), name, iface, 'bridge', 'local', n.cfg.vni));
      out.push(row(links.get(n.vtep.vxlan), n.vtep.vxlan, n.vtep.vxlan, 'vxlan', 'underlay', n.cfg.vni));
    }
    return out;
  }

  /** The kernel's FDB of one network (learned and static; flood entries and the ports' own addresses left out). */
  private async kernelFdb(n: Net): Promise<FdbEntryJson[]> {
    const v = n.vtep;
    const rows = await iprouteJson<FdbRow>('bridge', ['-s', 'fdb', 'show', 'br', v.bridge]);
    const out: FdbEntryJson[] = [];
    for (const r of rows) {
      const mac = r.mac.toLowerCase();
      if (r.ifname === v.vxlan && r.dst !== undefined && (r.flags ?? []).includes('self')) {
        if (mac === FLOOD_MAC) continue;
        const isStatic = r.state === 'permanent';
        out.push({ vni: n.cfg.vni, vlan: null, mac, port: null, remote: r.dst, static: isStatic, ageSeconds: isStatic ? 0 : r.updated ?? 0 });
      } else if (r.master === v.bridge && r.ifname !== undefined && n.names.has(r.ifname) && r.state !== 'permanent') {
        const isStatic = r.state === 'static';
        out.push({ vni: n.cfg.vni, vlan: null, mac, port: n.names.get(r.ifname)!, remote: null, static: isStatic, ageSeconds: isStatic ? 0 : r.updated ?? 0 });
      }
    }
    return out;
  }

  private async fdbShow(vni?: number): Promise<FdbEntryJson[]> {
    const nets = vni === undefined ? [...this.nets.values()] : [this.netOf(vni)];
    const out: FdbEntryJson[] = [];
    for (const n of nets) out.push(...(await this.kernelFdb(n)));
    return out;
  }

  private async fdbAdd(vni: number, mac: string, port?: string, remote?: string): Promise<void> {
    const n = this.netOf(vni);
    let e: StaticFdbEntry;
    if (port !== undefined) {
      const name = n.names.get(port) ?? (n.cfg.ports.includes(port) ? port : undefined);
      if (name === undefined) throw new ControlError(`port ${port} is not a member of VNI ${vni}`);
      e = { vni, mac, port: name };
    } else {
      if (!n.cfg.remotes.includes(remote!)) throw new ControlError(`${remote} is not a remote VTEP of VNI ${vni}`);
      e = { vni, mac, remote };
    }
    const k = staticKey(vni, mac);
    const before = this.statics.get(k);
    this.statics.set(k, { e, runtime: true });
    try {
      await n.vtep.sync(this.desired(n));
    } catch (err) {
      if (before) this.statics.set(k, before);
      else this.statics.delete(k);
      throw err;
    }
    // A learned entry on another port would shadow a static remote (or the reverse): clear it.
    if (remote !== undefined) await this.delLearned(n, mac, { ports: true });
    else await this.delLearned(n, mac, { remote: true });
    this.log.info({ event: 'fdb-add', ...e }, 'static FDB entry added');
  }

  /** Delete the kernel's learned entries for `mac`: on the vxlan device (remote) and/or on the bridge ports. */
  private async delLearned(n: Net, mac: string, which: { remote?: boolean; ports?: boolean }): Promise<number> {
    const v = n.vtep;
    let removed = 0;
    for (const r of await iprouteJson<FdbRow>('bridge', ['fdb', 'show', 'br', v.bridge])) {
      if (r.mac.toLowerCase() !== mac || r.ifname === undefined) continue;
      const learned = r.state !== 'permanent' && r.state !== 'static';
      if (!learned) continue;
      try {
        if (which.remote && r.ifname === v.vxlan && r.dst !== undefined) {
          await iproute('bridge', ['fdb', 'del', mac, 'dev', v.vxlan, 'dst', r.dst, 'self']);
          removed++;
        } else if (which.remote && r.ifname === v.vxlan && r.master === v.bridge) {
          await iproute('bridge', ['fdb', 'del', mac, 'dev', v.vxlan, 'master']);
        } else if (which.ports && r.master === v.bridge && n.names.has(r.ifname)) {
          await iproute('bridge', ['fdb', 'del', mac, 'dev', r.ifname, 'master']);
          removed++;
        }
      } catch (err) {
        // Aged out between the read and the delete: gone either way.
        if (!(err instanceof IprouteError && /No such file|not found/i.test(err.stderr))) throw err;
      }
    }
    return removed;
  }

  private async fdbDel(vni: number, mac: string): Promise<void> {
    const n = this.netOf(vni);
    const k = staticKey(vni, mac);
    const s = this.statics.get(k);
    if (s !== undefined) {
      this.statics.delete(k);
      try {
        await n.vtep.sync(this.desired(n));
      } catch (err) {
        this.statics.set(k, s);
        throw err;
      }
      this.log.info({ event: 'fdb-del', ...s.e, fromConfig: !s.runtime }, s.runtime ? 'static FDB entry deleted' : 'static FDB entry of the config deleted (until the next reload)');
      return;
    }
    if ((await this.delLearned(n, mac, { remote: true, ports: true })) === 0) throw new ControlError(`no FDB entry for ${mac} in VNI ${vni}`);
  }

  private async fdbFlush(f: FlushFilter): Promise<number> {
    const nets = f.vni === undefined ? [...this.nets.values()] : [this.netOf(f.vni)];
    let portIface: string | undefined;
    if (f.port !== undefined) {
      for (const n of this.nets.values()) for (const [iface, name] of n.names) if (name === f.port || iface === f.port) portIface = iface;
      if (portIface === undefined) throw new ControlError(`no port named ${f.port}`);
    }
    if (f.remote !== undefined && ![...this.nets.values()].some((n) => n.cfg.remotes.includes(f.remote!))) {
      throw new ControlError(`${f.remote} is not a remote VTEP of any network`);
    }
    let removed = 0;
    for (const n of nets) {
      const ifaceOf = new Map([...n.names].map(([i, name]) => [name, i]));
      for (const e of await this.kernelFdb(n)) {
        if (e.static) continue;
        if (portIface !== undefined && (e.port === null || ifaceOf.get(e.port) !== portIface)) continue;
        if (f.remote !== undefined && e.remote !== f.remote) continue;
        removed += await this.delLearned(n, e.mac, e.remote !== null ? { remote: true } : { ports: true });
      }
    }
    return removed;
  }

  private async snapshot(): Promise<StatsSnapshot> {
    const ports = await this.portStats();
    const networks: NetworkStats[] = [];
    for (const n of this.nets.values()) {
      // The kernel counts no flood/learn/age events per bridge: those stay 0; fdbEntries is the table now.
      const fdb = await this.kernelFdb(n);
      networks.push({
        vni: n.cfg.vni, name: n.cfg.name ?? null, type: n.cfg.type, remotes: n.cfg.remotes,
        flooded: 0, unicast: 0, learned: 0, moved: 0, aged: 0, dropped: 0, fdbEntries: fdb.length,
      });
    }
    const drops: Record<string, number> = {};
    for (const p of ports) if (p.drops > 0) drops[`kernel/${p.interface}`] = p.drops;
    return { uptimeSeconds: (Date.now() - this.startedAt) / 1000, ports, networks, stages: [], drops, offload: { ...this.cfg.offload } };
  }

  private async startMetrics(cfg: VtepdConfig): Promise<void> {
    const l = parseListen(cfg.metrics.listen)!;
    // Prometheus scrapes synchronously: it gets the snapshot of the last watch round or stats call.
    this.metrics = new MetricsServer(createRegistry(() => this.lastStats!));
    const a = await this.metrics.listen(l.host, l.port);
    this.metricsAddr = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  reload(): Promise<{ reloaded: boolean; error?: string }> {
    return this.serial(() => this.doReload());
  }

  private async doReload(): Promise<{ reloaded: boolean; error?: string }> {
    if (this.stopping) return { reloaded: false, error: 'stopping' };
    const fail = (error: string): { reloaded: false; error: string } => {
      this.log.error({ event: 'reload-failed', err: error }, 'reload failed: keeping the running config');
      return { reloaded: false, error };
    };
    let cfg: VtepdConfig;
    try {
      cfg = loadConfig(this.opts.configFile);
    } catch (err) {
      return fail((err as Error).message);
    }
    if (!kernelDataPath(cfg.offload)) return fail(`offload ${describePlan(cfg.offload)}: switching between the kernel data path and vtepd's own needs a restart`);
    const problems = this.problems(cfg);
    if (problems.length > 0) return fail(problems.join('; '));
    const prevCfg = this.cfg;
    const prevStatics = this.statics;
    const { statics, dropped } = carryStatics(cfg, prevStatics);
    this.statics = statics;
    try {
      await this.apply(cfg);
    } catch (err) {
      this.statics = prevStatics;
      try {
        await this.apply(prevCfg);
      } catch (err2) {
        this.log.error({ event: 'rollback-failed', err: (err2 as Error).message }, 'rolling back to the running config failed too: check `vtepd status`');
      }
      return fail((err as Error).message);
    }
    this.cfg = cfg;
    this.log.level = cfg.log.level;
    if (cfg.control.socket !== prevCfg.control.socket) this.log.warn('control.socket changes take effect on restart');
    if (cfg.metrics.listen !== prevCfg.metrics.listen || cfg.metrics.enabled !== prevCfg.metrics.enabled) {
      await this.metrics?.close();
      this.metrics = null;
      this.metricsAddr = null;
      if (cfg.metrics.enabled) await this.startMetrics(cfg).catch((err: Error) => this.log.error({ err: err.message }, 'metrics endpoint failed'));
    }
    this.lastStats = await this.snapshot().catch(() => this.lastStats);
    this.log.info({
      event: 'reloaded', networks: [...this.nets.values()].map((n) => this.netStatus(n)), droppedRuntimeStatics: dropped, offload: cfg.offload,
    }, 'config reloaded');
    return { reloaded: true };
  }

  /** Destroy every device and TAP vtepd created; errors are logged, never thrown. */
  private async teardown(): Promise<void> {
    for (const [vni, n] of [...this.nets]) {
      await n.vtep.destroy().catch((err: Error) => this.log.error({ vni, err: err.message }, 'kernel devices not fully removed'));
      this.nets.delete(vni);
    }
    for (const t of [...this.taps]) {
      await iproute('ip', ['tuntap', 'del', 'dev', t, 'mode', 'tap']).catch((err: Error) => this.log.error({ interface: t, err: err.message }, 'TAP device not deleted'));
      this.taps.delete(t);
    }
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.busy;
    for (const t of this.timers) clearInterval(t);
    const counters = await this.snapshot().catch(() => this.lastStats);
    if (this.log.level !== 'silent' && !this.log.isLevelEnabled('info')) this.log.level = 'info';
    this.log.info({ event: 'stopped', signal, counters }, 'final counters');
    await this.control?.close();
    await this.metrics?.close();
    const devices = [...this.nets.values()].flatMap((n) => [n.vtep.vxlan, n.vtep.bridge]);
    await this.teardown();
    this.log.info({ event: 'devices-removed', devices }, 'kernel devices removed');
    this.resolveDone(0);
  }
}

/** fdb.static of `cfg`, keyed by VNI and MAC (later entries win, as in the userspace table). */
function configStatics(cfg: VtepdConfig, into: Map<string, Static>): Map<string, Static> {
  for (const e of cfg.fdb.static) into.set(staticKey(e.vni, e.mac), { e: { ...e, mac: e.mac.toLowerCase() }, runtime: false });
  return into;
}

/** The new config's statics plus the run-time ones that still fit (their network, port or remote still exists). */
function carryStatics(cfg: VtepdConfig, prev: Map<string, Static>): { statics: Map<string, Static>; dropped: StaticFdbEntry[] } {
  const statics = configStatics(cfg, new Map());
  const dropped: StaticFdbEntry[] = [];
  for (const [k, s] of prev) {
    if (!s.runtime) continue;
    const n = cfg.networks.find((x) => x.vni === s.e.vni);
    const fits = n !== undefined && (s.e.port !== undefined ? n.ports.includes(s.e.port) : n.remotes.includes(s.e.remote!));
    if (!fits) dropped.push(s.e);
    else if (!statics.has(k)) statics.set(k, s);
  }
  return { statics, dropped };
}

function masterOf(iface: string): string | null {
  try {
    return basename(readlinkSync(`/sys/class/net/${iface}/master`));
  } catch {
    return null;
  }
}

/** The overlay is L2 only: no IPv6 link-local, RS or MLD from the host into it (best effort). */
function quietIpv6(devs: string[]): void {
  for (const d of devs) {
    try { writeFileSync(`/proc/sys/net/ipv6/conf/${d}/disable_ipv6`, '1'); } catch { /* no IPv6 in this kernel */ }
  }
}

function diffLog(d: FdbDiff): { added: string[]; removed: string[] } {
  const s = (e: KernelFdbEntry): string => `${e.mac} ${e.dst !== undefined ? `dst ${e.dst}` : `port ${e.port}`}`;
  return { added: d.add.map(s), removed: d.del.map(s) };
}

/** Settings the kernel data path does not carry out (logged once at start). */
function ignoredSettings(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  const f = cfg.fdb;
  if (f.maxEntries !== 65536) out.push('fdb.maxEntries');
  if (f.perPortLimit !== 0) out.push('fdb.perPortLimit');
  if (f.perRemoteLimit !== 0) out.push('fdb.perRemoteLimit');
  if (f.full !== 'stop') out.push('fdb.full');
  if (cfg.batch.size !== 64) out.push('batch.size');
  if (cfg.underlay.mtu !== 1500) out.push('underlay.mtu (the vxlan device takes the underlay MTU minus its overhead)');
  if (cfg.underlay.nextHopMac !== undefined) out.push('underlay.nextHopMac (the kernel resolves next hops itself)');
  const unused = cfg.ports.filter((p) => !cfg.networks.some((n) => n.ports.includes(p.name))).map((p) => p.name);
  if (unused.length > 0) out.push(`ports not in any network: ${unused.join(', ')}`);
  return out;
}

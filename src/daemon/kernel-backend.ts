/**
 * The kernel data path as a Backend (offload encap-decap: kernel and
 * forwarding-learning: kernel). Per network vtepd builds a KernelVtep (vxlan
 * device vtxVNI bound to underlay.interface + bridge vtbVNI with the network's
 * port interfaces) and from then on only programs and watches it: no frame
 * passes through vtepd.
 *
 * Desired state, mirrored into the kernel by diff (KernelVtep.sync): the flood
 * list (networks[].remotes) and the static entries (kernel-statics.ts).
 * Learned entries are the kernel's; `fdb del`/`fdb flush` delete them there.
 *
 *  - watch, every WATCH_MS: devices, enslaved ports and the managed FDB are
 *    compared with the desired state and repaired (logged); learned entries
 *    are compared with the last round's and reported as MAC events;
 *  - apply (reload): networks whose devices would differ are rebuilt, removed
 *    ones destroyed, new ones created, the rest re-synced; a reload that fails
 *    half way is rolled back to the running config;
 *  - after a crash (kill -9) the devices stay, marked with their dead owner:
 *    the next start adopts or rebuilds them (KernelVtep.create);
 *  - close: destroy every device vtepd created (ports are released, not deleted).
 *
 * Settings without a kernel counterpart (fdb limits, batch size, MTU,
 * nextHopMac) are logged at start and ignored.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { NetworkConfig, StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import { HostConfigError } from '../config/host-check.js';
import type { FdbEntryJson } from '../control/fdb-entry.js';
import type { NetworkStats, PortStats, StatsSnapshot } from '../control/stats.js';
import { KernelVtep, type KernelVtepSpec } from '../offload/kernel-vtep.js';
import type { FdbDiff, KernelFdbEntry } from '../offload/fdb-sync.js';
import type { KernelFdbRow } from '../offload/kernel-fdb.js';
import { readLinks, type LinkState } from '../offload/kernel-links.js';
import { iproute } from '../offload/iproute.js';
import { ownerAlias, ownerAlive, parseOwner, selfOwner } from '../offload/kernel-owner.js';
import { probeKernelLinks, readKernelConfig, type Avail, type KernelLinkType } from '../offload/host-probe.js';
import { describePlan, kernelDataPath } from '../pipeline/run-plan.js';
import { MacEventHub, type Backend, type BackendContext, type FdbFlushFilter, type MacListener, type Periodic } from './backend.js';
import { carryStatics, configStatics, desiredFdb, type Static } from './kernel-statics.js';
import { kernelProblems, ignoredSettings } from './kernel-checks.js';
import { addStatic, delEntry, flushLearned, kernelPorts, netOf, showFdb, type Net } from './kernel-fdb-ops.js';
import { learnedEvents } from './kernel-events.js';

/** How often the kernel state is compared with the desired one. */
export const WATCH_MS = 5000;


export class KernelBackend implements Backend {
  readonly mode = 'kernel';
  readonly periodic: Periodic[] = [{ name: 'watch', everyMs: WATCH_MS, serial: true, run: () => this.watch() }];
  private readonly log: BackendContext['log'];
  private readonly startedAt = Date.now();
  private readonly owner = selfOwner();
  private cfg!: VtepdConfig;
  private nets = new Map<number, Net>();
  private statics = new Map<string, Static>();
  /** TAP devices vtepd created for tap ports that did not exist (deleted again when unused). */
  private taps = new Set<string>();
  private links: Record<KernelLinkType, Avail> | null = null;
  private last: StatsSnapshot | null = null;
  /** Learned entries of the last watch round, for MAC events. */
  private learned: Map<string, KernelFdbRow & { vni: number }> | null = null;
  private readonly events: MacEventHub;
  private closing = false;

  constructor(ctx: BackendContext) {
    this.log = ctx.log;
    this.events = new MacEventHub(ctx.log);
  }

  async start(cfg: VtepdConfig): Promise<void> {
    if (!kernelDataPath(cfg.offload)) throw new Error(`the kernel backend needs offload encap-decap and forwarding-learning kernel, not ${describePlan(cfg.offload)}`);
    this.links = await probeKernelLinks(readKernelConfig());
    const problems = await kernelProblems(cfg, this.links, this.ours());
    if (problems.length > 0) throw new HostConfigError(problems);
    this.cfg = cfg;
    this.statics = configStatics(cfg);
    try {
      await this.build(cfg);
      this.last = await this.snapshot();
    } catch (err) {
      await this.teardown();
      throw err;
    }
    const ignored = ignoredSettings(cfg);
    if (ignored.length > 0) this.log.warn({ ignored }, 'settings without a kernel counterpart are ignored in kernel mode');
  }

  /** Bridges of this daemon (their ports are not "taken from another master"). */
  private ours(): Set<string> {
    return new Set([...this.nets.values()].map((n) => n.vtep.bridge));
  }

  startedLog(): Record<string, unknown> {
    return { networks: [...this.nets.values()].map((n) => this.netStatus(n)), taps: [...this.taps] };
  }

  private spec(cfg: VtepdConfig, n: NetworkConfig): { spec: KernelVtepSpec; names: Map<string, string> } {
    const names = new Map<string, string>();
    for (const name of n.ports) names.set(cfg.ports.find((x) => x.name === name)!.interface, name);
    const u = cfg.underlay;
    return {
      spec: { vni: n.vni, local: u.address, dstPort: n.udpPort, underlayDev: u.interface, ttl: u.ttl, udpChecksum: u.udpChecksum,
        // control-plane evpn: FRR (zebra, advertise-all-vni) programs remote MACs and flood lists; no data-plane learning, and
        // vtepd removes only FDB entries it added itself (FRR's extern_learn and head-end entries are left alone).
        learning: cfg['control-plane'] !== 'evpn', ...(cfg['control-plane'] === 'evpn' ? { keepForeign: true } : {}), ports: [...names.keys()] },
      names,
    };
  }

  /**
   * Make the kernel match `cfg` and this.statics: devices whose spec changed are
   * rebuilt, removed networks destroyed, new ones created, every FDB synced.
   */
  private async build(cfg: VtepdConfig): Promise<void> {
    const want = new Map(cfg.networks.map((n) => [n.vni, { n, ...this.spec(cfg, n) }]));
    for (const [vni, cur] of [...this.nets]) {
      const w = want.get(vni);
      if (w !== undefined && JSON.stringify(w.spec) === cur.key) continue;
      await cur.vtep.destroy();
      this.nets.delete(vni);
      this.log.info({ event: 'network-removed', vni, devices: [cur.vtep.vxlan, cur.vtep.bridge], rebuilt: w !== undefined }, w ? 'devices changed: rebuilding' : 'network removed: devices destroyed');
    }
    await this.makeTaps(cfg);
    for (const [vni, w] of want) {
      let net = this.nets.get(vni);
      if (net === undefined) {
        const vtep = new KernelVtep({ ...w.spec, owner: this.owner });
        const outcome = await vtep.create();
        net = { cfg: w.n, vtep, key: JSON.stringify(w.spec), ageing: -1, names: w.names };
        this.nets.set(vni, net);
        quietIpv6([vtep.vxlan, vtep.bridge]);
        this.log.info({ event: 'network-created', vni, vxlan: vtep.vxlan, bridge: vtep.bridge, ports: w.spec.ports, outcome },
          outcome === 'adopted' ? 'kernel devices left by a vtepd that is gone: adopted' : outcome === 'rebuilt' ? 'kernel devices left by a vtepd that is gone: rebuilt' : 'kernel devices created');
      }
      net.cfg = w.n;
      net.names = w.names;
      const ageing = w.n.ageing ?? cfg.fdb.ageing;
      if (ageing !== net.ageing) {
        await net.vtep.setAgeing(ageing);
        net.ageing = ageing;
      }
      const d = await net.vtep.sync(this.desired(net));
      if (d.add.length + d.del.length > 0) this.log.info({ event: 'fdb-synced', vni, ...diffLog(d) }, 'kernel FDB synced');
    }
    const tapsInUse = new Set(cfg.ports.filter((p) => cfg.networks.some((n) => n.ports.includes(p.name))).map((p) => p.interface));
    for (const t of [...this.taps]) {
      if (tapsInUse.has(t)) continue;
      await iproute('ip', ['tuntap', 'del', 'dev', t, 'mode', 'tap']).catch((e: Error) => this.log.warn({ interface: t, err: e }, 'TAP device not deleted'));
      this.taps.delete(t);
    }
  }

  /** TAP devices for tap ports that do not exist (marked as ours); a dead vtepd's leftover TAP is taken over. */
  private async makeTaps(cfg: VtepdConfig): Promise<void> {
    const links = await readLinks();
    for (const p of cfg.ports) {
      if (p.backend !== 'tap' || p.interface === undefined || this.taps.has(p.interface)) continue;
      if (!cfg.networks.some((n) => n.ports.includes(p.name))) continue;
      const l = links.get(p.interface);
      const o = parseOwner(l?.alias);
      if (l !== undefined && (o === null || ownerAlive(o))) continue; // somebody else's TAP: used, never deleted
      if (l === undefined) await iproute('ip', ['tuntap', 'add', 'dev', p.interface, 'mode', 'tap']);
      await iproute('ip', ['link', 'set', 'dev', p.interface, 'alias', ownerAlias(this.owner, 'tap')]);
      this.taps.add(p.interface);
      this.log.info({ event: 'tap-created', interface: p.interface, adopted: l !== undefined }, 'created a persistent TAP device for a tap port');
    }
  }

  private desired(net: Net): { floodRemotes: string[]; entries: KernelFdbEntry[] } {
    return desiredFdb(this.statics, net.cfg.vni, net.cfg.remotes, new Map([...net.names].map(([i, n]) => [n, i])));
  }

  /** Periodic check: devices present, ports enslaved, managed FDB as desired; repairs are logged. */
  private async watch(): Promise<void> {
    if (this.closing) return;
    const links = await readLinks();
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
      for (const [port, was] of await v.repairPorts(links)) {
        this.log.warn({ event: 'repair', vni, port, was }, 'port was taken out of the bridge: enslaved again');
      }
      const d = await v.sync(this.desired(net));
      if (d.add.length + d.del.length > 0) this.log.warn({ event: 'repair', vni, ...diffLog(d) }, 'kernel FDB changed behind vtepd: repaired');
    }
    // Rebuilt networks need their ageing set again.
    if ([...this.nets.values()].some((n) => n.ageing < 0)) await this.build(this.cfg);
    this.last = await this.snapshot();
  }

  private netStatus(n: Net): Record<string, unknown> {
    return {
      vni: n.cfg.vni, name: n.cfg.name ?? null, type: n.cfg.type, remotes: n.cfg.remotes, udpPort: n.cfg.udpPort,
      devices: { vxlan: n.vtep.vxlan, bridge: n.vtep.bridge }, ports: [...n.names].map(([iface, name]) => ({ name, interface: iface })), ageing: n.ageing,
    };
  }

  status(): Record<string, unknown> {
    return {
      plan: describePlan(this.cfg.offload), offload: this.cfg.offload,
      networks: [...this.nets.values()].map((n) => this.netStatus(n)), taps: [...this.taps],
      staticEntries: [...this.statics.values()].map((s) => ({ ...s.e, runtime: s.runtime })),
      watchSeconds: WATCH_MS / 1000,
    };
  }

  async ports(links?: Map<string, LinkState>): Promise<PortStats[]> {
    return kernelPorts(this.nets.values(), links ?? await readLinks({ stats: true }));
  }

  fdbShow(vni?: number): Promise<FdbEntryJson[]> { return showFdb(this.nets, vni); }

  async fdbAdd(e: StaticFdbEntry): Promise<void> {
    const entry = await addStatic(netOf(this.nets, e.vni), this.statics, e, (n) => this.desired(n));
    this.log.info({ event: 'fdb-add', ...entry }, 'static FDB entry added');
  }

  async fdbDel(vni: number, mac: string): Promise<void> {
    const s = await delEntry(netOf(this.nets, vni), this.statics, mac, (n) => this.desired(n));
    if (s !== null) this.log.info({ event: 'fdb-del', ...s.e, fromConfig: !s.runtime }, s.runtime ? 'static FDB entry deleted' : 'static FDB entry of the config deleted (until the next reload)');
  }

  fdbFlush(f: FdbFlushFilter): Promise<number> { return flushLearned(this.nets, f); }

  onMacEvents(l: MacListener): () => void { return this.events.subscribe(l); }

  /** Counters from the kernel; learned entries compared with the last round become MAC events. */
  private async snapshot(): Promise<StatsSnapshot> {
    const links = await readLinks({ stats: true });
    const ports = await this.ports(links);
    const networks: NetworkStats[] = [];
    const learned = new Map<string, KernelFdbRow & { vni: number }>();
    for (const n of this.nets.values()) {
      // The kernel counts no flood/learn/age events per bridge: those stay 0; fdbEntries is the table now.
      const rows = await n.vtep.fdbEntries();
      for (const r of rows) if (!r.static) learned.set(`${n.cfg.vni}/${r.mac}`, { ...r, vni: n.cfg.vni, port: r.port === null ? null : n.names.get(r.port) ?? r.port });
      networks.push({
        vni: n.cfg.vni, name: n.cfg.name ?? null, type: n.cfg.type, remotes: n.cfg.remotes,
        flooded: 0, unicast: 0, learned: 0, moved: 0, aged: 0, dropped: 0, fdbEntries: rows.length,
      });
    }
    if (this.learned !== null) this.events.emit(learnedEvents(this.learned, learned));
    this.learned = learned;
    const drops: Record<string, number> = {};
    for (const p of ports) if (p.drops > 0) drops[`kernel/${p.interface}`] = p.drops;
    return { uptimeSeconds: (Date.now() - this.startedAt) / 1000, ports, networks, stages: [], drops, offload: { ...this.cfg.offload } };
  }

  async stats(): Promise<StatsSnapshot> {
    this.last = await this.snapshot();
    return this.last;
  }

  lastStats(): StatsSnapshot { return this.last!; }

  async apply(cfg: VtepdConfig): Promise<Record<string, unknown>> {
    if (!kernelDataPath(cfg.offload)) throw new Error(`offload ${describePlan(cfg.offload)}: switching between the kernel data path and vtepd's own needs a restart`);
    const problems = await kernelProblems(cfg, this.links!, this.ours());
    if (problems.length > 0) throw new Error(problems.join('; '));
    const prevCfg = this.cfg;
    const prevStatics = this.statics;
    const { statics, dropped } = carryStatics(cfg, prevStatics);
    this.statics = statics;
    try {
      await this.build(cfg);
    } catch (err) {
      this.statics = prevStatics;
      try {
        await this.build(prevCfg);
      } catch (err2) {
        this.log.error({ event: 'rollback-failed', err: err2 }, 'rolling back to the running config failed too: check `vtepd status`');
      }
      throw err;
    }
    this.cfg = cfg;
    this.last = await this.snapshot().catch(() => this.last);
    return { networks: [...this.nets.values()].map((n) => this.netStatus(n)), droppedRuntimeStatics: dropped };
  }

  async quiesce(): Promise<Record<string, unknown>> {
    this.closing = true;
    return {};
  }

  async close(): Promise<void> {
    this.closing = true;
    const devices = [...this.nets.values()].flatMap((n) => [n.vtep.vxlan, n.vtep.bridge]);
    await this.teardown();
    this.log.info({ event: 'devices-removed', devices }, 'kernel devices removed');
  }

  /** Destroy every device and TAP vtepd created; errors are logged, never thrown. */
  private async teardown(): Promise<void> {
    for (const [vni, n] of [...this.nets]) {
      await n.vtep.destroy().catch((err: Error) => this.log.error({ vni, err }, 'kernel devices not fully removed'));
      this.nets.delete(vni);
    }
    for (const t of [...this.taps]) {
      await iproute('ip', ['tuntap', 'del', 'dev', t, 'mode', 'tap']).catch((err: Error) => this.log.error({ interface: t, err }, 'TAP device not deleted'));
      this.taps.delete(t);
    }
  }
}

/** The overlay is L2 only: no IPv6 link-local, RS or MLD from the host into it (best effort). */
function quietIpv6(devs: string[]): void {
  for (const d of devs) {
    if (!existsSync(`/proc/sys/net/ipv6/conf/${d}`)) continue;
    try { writeFileSync(`/proc/sys/net/ipv6/conf/${d}/disable_ipv6`, '1'); } catch { /* no IPv6 in this kernel */ }
  }
}

function diffLog(d: FdbDiff): { added: string[]; removed: string[] } {
  const s = (e: KernelFdbEntry): string => `${e.mac} ${e.dst !== undefined ? `dst ${e.dst}` : `port ${e.port}`}`;
  return { added: d.add.map(s), removed: d.del.map(s) };
}

/**
 * The data path of `vtepd run`: one batch at a time from a port through
 *
 *   rx → classify → decap → bridge → replicate → encap → tx
 *
 * Underlay frames are classified (which tunnel type arrived) and decapsulated
 * first, and dropped when the type is not their network's; local frames go straight to the
 * bridge, which learns, looks up and decides; the replicator makes one copy
 * per output (local ports, or one per remote VTEP: head-end replication), each
 * network's encap stage builds the outer headers, and the copies leave in runs
 * per output port. Stage times are taken per batch by the cost meter.
 *
 * Construction (control path) wires the stages from a validated config and
 * opened ports; `handle(port)` is the hot entry, called when a port is readable.
 * The config's offload plan picks each stage's implementation: `host` the
 * TypeScript stages, `native` their C twins in the addon (same interface, same
 * counters, one call per batch); anything else is refused at config load.
 */
import { isIPv6 } from 'node:net';
import { PacketBatch } from '../batch/packet-batch.js';
import { CostMeter } from '../cost/meter.js';
import { BridgeDomains, parseAddrWords } from '../l2/bridge-domain.js';
import { BridgeStage } from '../l2/bridge-stage.js';
import { MacTable, localPlace, remotePlace } from '../l2/mac-table.js';
import { Replicator } from '../l2/replicate.js';
import { NativeReplicator } from '../l2/native-replicate.js';
import { parseMacWords } from '../l2/mac-text.js';
import { DecapStage } from '../tunnel/decap.js';
import { EncapStage } from '../tunnel/encap.js';
import type { EncapConfig, DecapConfig } from '../tunnel/tunnel-config.js';
import { NativeDecapStage } from '../tunnel/native-decap.js';
import { NativeEncapStage } from '../tunnel/native-encap.js';
import { NativeBridgeStage } from '../l2/native-bridge-stage.js';
import { NativeChecksumStage } from '../tunnel/native-checksum.js';
import { KernelChecksumStage } from '../tunnel/vnet-checksum.js';
import { AfPacketPort } from '../ports/af-packet-port.js';
import { runPlanHostProblems } from './run-plan.js';
import { BusyPoller } from './busy-poll.js';
import type { Port } from '../ports/port.js';
import { TunnelClassifier, KIND_GENEVE, KIND_OF_TYPE, KIND_VXLAN } from './classify.js';
import type { VtepdConfig } from '../config/config-schema.js';
import { underlayVnet, type LocalDevice, type Underlay } from './open-ports.js';

export const STAGES = ['rx', 'classify', 'decap', 'bridge', 'replicate', 'encap', 'checksum', 'tx'] as const;
const S_RX = 0, S_CLASSIFY = 1, S_DECAP = 2, S_BRIDGE = 3, S_REPL = 4, S_ENCAP = 5, S_CSUM = 6, S_TX = 7;
/** Batches taken from one port per readiness callback before yielding to the others. */
const BATCHES_PER_WAKEUP = 8;

export interface DataplaneOptions {
  cfg: VtepdConfig;
  devices: LocalDevice[];
  underlay: Underlay;
  /** Next-hop MAC per remote VTEP address (AF_PACKET underlay); missing ones are sent to broadcast. */
  remoteMacs: Map<string, string>;
  /** MAC of the underlay interface (outer source). */
  localMac: string;
}

export class Dataplane {
  readonly cfg: VtepdConfig;
  readonly devices: LocalDevice[];
  readonly underlay: Underlay;
  readonly table: MacTable;
  readonly domains: BridgeDomains;
  readonly bridge: BridgeStage;
  readonly decap: DecapStage;
  readonly classify: TunnelClassifier;
  readonly meter = new CostMeter(STAGES, { host: false });
  /** Per bridge domain (= network index): its encap stage (null without remotes) and underlay port. */
  readonly encap: (EncapStage | null)[] = [];
  readonly txPort: Port[] = [];
  /**
   * Per bridge domain: the outer UDP checksum pass after encap, or null when the
   * encap stage computes it inline (checksum: host) or there is none to compute.
   */
  readonly csum: (NativeChecksumStage | KernelChecksumStage | null)[] = [];
  /** Local device port by bridge port index. */
  readonly portAt: (Port | undefined)[] = [];
  private readonly replicator: Replicator;
  private readonly rx: PacketBatch;
  private readonly localOut: PacketBatch;
  private readonly remoteOut: PacketBatch;
  private readonly idle: PacketBatch;
  private readonly underlaySet = new Set<Port>();

  constructor(o: DataplaneOptions) {
    const cfg = o.cfg;
    const hostProblems = runPlanHostProblems(cfg);
    if (hostProblems.length > 0) throw new Error(`offload plan cannot run on this host:\n  - ${hostProblems.join('\n  - ')}`);
    const nativeTunnel = cfg.offload['encap-decap'] === 'native';
    const csumPlace = cfg.offload.checksum;
    this.cfg = cfg;
    this.devices = o.devices;
    this.underlay = o.underlay;
    const f = cfg.fdb;
    this.table = new MacTable({ capacity: f.maxEntries, full: f.full, perPortLimit: f.perPortLimit, perRemoteLimit: f.perRemoteLimit, ageingSeconds: f.ageing, maxDomains: Math.max(16, cfg.networks.length) });
    this.domains = new BridgeDomains({ table: this.table });
    // Ageing runs on the timer (tick), not per batch: a per-batch step costs the same
    // at 1 frame per batch as at 256, and at low rates it was most of the bridge's time.
    const bridgeOpts = { table: this.table, domains: this.domains, clock: () => Date.now() / 1000, ageSlotsPerBatch: 0 };
    this.bridge = cfg.offload['forwarding-learning'] === 'native' ? new NativeBridgeStage(bridgeOpts) : new BridgeStage(bridgeOpts);
    this.replicator = cfg.offload['forwarding-learning'] === 'native' ? new NativeReplicator(this.bridge) : new Replicator(this.bridge);
    const size = cfg.batch.size;
    this.rx = new PacketBatch({ capacity: size });
    this.localOut = new PacketBatch({ capacity: size });
    this.remoteOut = new PacketBatch({ capacity: size });
    this.idle = new PacketBatch({ capacity: 1 });
    for (const p of o.underlay.ports) this.underlaySet.add(p);

    this.classify = new TunnelClassifier(this.domains, this.domains.maxDomains);
    const devOf = new Map<string, LocalDevice>();
    for (const d of o.devices) {
      this.portAt[d.port.index] = d.port;
      for (const m of d.members) devOf.set(m.name, d);
    }
    const vxlanPorts = new Set<number>();
    const genevePorts = new Set<number>();
    const known: { optClass: number; type: number }[] = [];
    for (const n of cfg.networks) {
      const dom = this.domains.addVniDomain(n.vni, { name: n.name, ageingSeconds: n.ageing });
      for (const pn of n.ports) {
        const dev = devOf.get(pn)!;
        const vlan = dev.members.find((m) => m.name === pn)!.vlan;
        this.domains.addPort(dom, dev.port.index, vlan, displayName(dev));
      }
      for (const r of n.remotes) this.domains.addRemoteIp(dom, r);
      this.classify.domainKind[dom] = KIND_OF_TYPE[n.type];
      if (n.type === 'vxlan') vxlanPorts.add(n.udpPort);
      if (n.type === 'geneve') genevePorts.add(n.udpPort);
      for (const g of n.geneveOptions) known.push({ optClass: g.class, type: g.type });
      // The outer UDP checksum: inline in encap (host), or left 0 by encap and filled by a later pass.
      const wantsUdpCsum = n.type !== 'nvgre' && (isIPv6(cfg.underlay.address) || cfg.underlay.udpChecksum);
      const laterCsum = wantsUdpCsum && (csumPlace === 'native' || csumPlace === 'kernel');
      const encapCfg: EncapConfig = {
        type: n.type,
        vni: n.vni,
        local: cfg.underlay.address,
        localMac: o.localMac,
        remotes: n.remotes.map((ip) => ({ ip, mac: o.remoteMacs.get(ip) ?? 'ff:ff:ff:ff:ff:ff' })),
        dstPort: n.type === 'nvgre' ? undefined : n.udpPort,
        geneveOptions: n.geneveOptions.map((g) => ({ optClass: g.class, type: g.type | (g.critical ? 0x80 : 0), data: Uint8Array.from(Buffer.from(g.data, 'hex')) })),
        mtu: cfg.underlay.mtu,
        udpCsum: cfg.underlay.udpChecksum && !laterCsum,
        zeroCsum6Tx: laterCsum,
        ttl: cfg.underlay.ttl,
      };
      this.encap[dom] = n.remotes.length === 0 ? null : nativeTunnel ? new NativeEncapStage(encapCfg) : new EncapStage(encapCfg);
      this.txPort[dom] = o.underlay.txFor(n.type === 'nvgre' ? 0 : n.udpPort);
      if (csumPlace === 'kernel' && underlayVnet(cfg)) this.csum[dom] = this.kernelChecksum(this.txPort[dom], laterCsum);
      else this.csum[dom] = laterCsum && csumPlace === 'native' ? new NativeChecksumStage({ ip4: false, udp: true }) : null;
    }
    for (const p of genevePorts) if (!vxlanPorts.has(p)) this.classify.portKind[p] = KIND_GENEVE;
    for (const p of vxlanPorts) this.classify.portKind[p] = KIND_VXLAN;
    const decapCfg: DecapConfig = {
      vnis: cfg.networks.map((n) => n.vni),
      vxlanPorts: [...vxlanPorts],
      genevePorts: [...genevePorts].filter((p) => !vxlanPorts.has(p)),
      nvgre: cfg.networks.some((n) => n.type === 'nvgre'),
      geneveKnownOptions: known,
    };
    this.decap = nativeTunnel ? new NativeDecapStage(decapCfg) : new DecapStage(decapCfg);
    for (const s of f.static) this.addStatic(s.vni, s.mac, s.port, s.remote);
  }

  /** Batches abandoned because a stage or port threw (a bug or a vanished device); the daemon logs them. */
  errors = 0;
  onError: ((port: Port, err: Error) => void) | null = null;

  private busy: BusyPoller | null = null;

  /** Start taking frames: every port's readiness drives `handle` (and, with busy polling, keeps the rings polled a while). */
  start(): void {
    const ports = [...this.devices.map((d) => d.port), ...this.underlay.ports];
    const idleUs = this.cfg.afpacket?.busyPollUs ?? 0;
    const busy = idleUs > 0 ? new BusyPoller(ports, (p) => this.guarded(p), idleUs) : null;
    this.busy = busy !== null && busy.active ? busy : null;
    for (const p of ports) {
      p.onReadable(this.busy === null ? () => this.guarded(p) : () => { this.guarded(p); this.busy!.kick(); });
    }
  }

  /** One try per wakeup (not per frame): an exception loses that batch, never the daemon. */
  private guarded(port: Port): void {
    try {
      this.handle(port);
    } catch (err) {
      this.errors++;
      this.onError?.(port, err as Error);
    }
  }

  /** Stop taking frames (ports stay open: a reload may hand them to the next dataplane). */
  stop(): void {
    this.busy?.stop();
    for (const d of this.devices) d.port.onReadable(null);
    for (const p of this.underlay.ports) p.onReadable(null);
  }

  /** Read whatever is pending on every port once more (SIGTERM drain). Returns frames read. */
  drain(): number {
    let n = 0;
    for (const p of [...this.underlay.ports, ...this.devices.map((d) => d.port)]) n += this.handle(p, 1 << 20);
    return n;
  }

  /** Table slots the ager visits per tick: the whole table every ~4 ticks, within 16 Ki..1 Mi (about 0.1-2 ms). */
  private get ageBudget(): number {
    return Math.min(1 << 20, Math.max(16384, Math.ceil(this.table.slots / 4)));
  }

  /** Age the table: a bounded step per timer tick (TICK_MS in the daemon), with or without traffic. */
  tick(): void {
    this.idle.clear();
    this.bridge.process(this.idle);
    this.table.ageStep(this.bridge.now, this.ageBudget);
  }

  /** Hot path: take up to a few batches from `port` and forward them. */
  handle(port: Port, maxBatches = BATCHES_PER_WAKEUP): number {
    const b = this.rx;
    const isUnderlay = this.underlaySet.has(port);
    let total = 0;
    for (let k = 0; k < maxBatches; k++) {
      b.clear();
      let t = this.meter.begin();
      const n = port.receive(b);
      if (n === 0) break;
      total += n;
      t = this.meter.stage(S_RX, t, n);
      this.meter.countIn(n, 0);
      if (isUnderlay) {
        this.classify.mark(b);
        t = this.meter.stage(S_CLASSIFY, t, n);
        this.decap.process(b);
        this.classify.check(b);
        t = this.meter.stage(S_DECAP, t, n);
      }
      this.bridge.process(b);
      t = this.meter.stage(S_BRIDGE, t, n);
      this.forward(b, t);
      if (n < b.capacity) break;
    }
    return total;
  }

  private forward(b: PacketBatch, t0: number): void {
    const rep = this.replicator;
    const lo = this.localOut;
    const ro = this.remoteOut;
    const m = this.meter;
    let t = t0;
    rep.start(b);
    for (;;) {
      lo.clear();
      const done = rep.fillLocal(lo);
      t = m.stage(S_REPL, t, lo.count);
      if (lo.count > 0) {
        this.sendLocal(lo);
        t = m.stage(S_TX, t, lo.count);
      }
      if (done) break;
    }
    for (;;) {
      ro.clear();
      const dom = rep.fillRemote(ro);
      t = m.stage(S_REPL, t, ro.count);
      if (dom < 0) break;
      const enc = this.encap[dom];
      if (enc === null) continue;
      enc.process(ro);
      t = m.stage(S_ENCAP, t, ro.count);
      const cs = this.csum[dom];
      if (cs !== null) {
        cs.process(ro);
        t = m.stage(S_CSUM, t, ro.count);
      }
      this.txPort[dom].transmit(ro);
      t = m.stage(S_TX, t, ro.count);
    }
  }

  /** `complete` false: the network sends no UDP checksum, but its frames still need clean vnet slots. */
  private kernelChecksum(port: Port, complete: boolean): KernelChecksumStage {
    if (!(port instanceof AfPacketPort)) throw new Error('checksum: kernel needs the AF_PACKET underlay (its virtio-net header carries the request)');
    return new KernelChecksumStage(port, complete);
  }

  /** Transmit local copies in runs of equal output port (one burst per run). */
  private sendLocal(lo: PacketBatch): void {
    const out = lo.outPort;
    const n = lo.count;
    let start = 0;
    while (start < n) {
      const p = out[start];
      let end = start + 1;
      while (end < n && out[end] === p) end++;
      const port = this.portAt[p];
      if (port !== undefined) port.transmit(lo, start, end - start);
      start = end;
    }
  }

  // ---------------------------------------------------------------- control path (FDB)

  /** Bridge domain of a VNI, or throws. */
  domainOf(vni: number): number {
    const d = this.domains.domainOfVni(vni);
    if (d < 0) throw new Error(`no network has VNI ${vni}`);
    return d;
  }

  /** Place (local port or remote) of a config port name / remote address in a domain. */
  placeOf(dom: number, port?: string, remote?: string): number {
    if (port !== undefined) {
      const dev = this.devices.find((d) => d.members.some((m) => m.name === port) || d.iface === port);
      if (!dev || this.domains.portTagOf(dom, dev.port.index) < 0) throw new Error(`port ${port} is not a member of VNI ${this.domains.vni[dom]}`);
      return localPlace(dev.port.index);
    }
    const [w0, w1, w2, w3, v6] = parseAddrWords(remote!);
    const r = this.domains.remoteIndex(w0, w1, w2, w3, v6);
    if (r < 0 || this.domains.remotePosition(dom, r) < 0) throw new Error(`${remote} is not a remote VTEP of VNI ${this.domains.vni[dom]}`);
    return remotePlace(r);
  }

  addStatic(vni: number, mac: string, port?: string, remote?: string): void {
    const dom = this.domainOf(vni);
    const [hi, lo] = parseMacWords(mac);
    if (!this.table.addStatic(dom, hi, lo, this.placeOf(dom, port, remote), this.bridge.now)) {
      throw new Error(`FDB is full (${this.table.capacity} entries)`);
    }
  }

  /** Device port index → config key, to carry entries over a reload. */
  deviceKeyAt(index: number): string | undefined {
    return this.devices.find((d) => d.port.index === index)?.key;
  }
}

/** How a device is named in the FDB and `vtepd ports`: its config port name, or its interface when shared. */
export function displayName(d: LocalDevice): string {
  return d.members.length === 1 ? d.members[0].name : d.iface;
}

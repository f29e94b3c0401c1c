/**
 * The data path of `vtepd run`: one batch at a time from a port through
 *
 *   rx → decap → bridge → replicate → encap → checksum → tx
 *
 * Underlay frames are decapsulated first (decap recognises the tunnel kind and
 * drops a frame whose kind is not its network's); local frames go straight to the
 * bridge, which learns, looks up and decides; the replicator makes one copy
 * per output (local ports, or one per remote VTEP: head-end replication), each
 * network's encap stage builds the outer headers, and the copies leave in runs
 * per output port. Stage times are taken per batch by the cost meter.
 *
 * Construction (control path) instantiates the stages from the resolved spec
 * (resolve.ts: all config translation) and wires them to the opened ports;
 * `handle(port)` is the hot entry, called when a port is readable. The spec
 * picks each stage's implementation: `host` the TypeScript stages, `native`
 * their C twins in the addon (same Stage contract, same counters, one call per
 * batch); anything else is refused at config load.
 */
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
import { NativeDecapStage } from '../tunnel/native-decap.js';
import { NativeEncapStage } from '../tunnel/native-encap.js';
import { NativeBridgeStage } from '../l2/native-bridge-stage.js';
import { NativeChecksumStage } from '../tunnel/native-checksum.js';
import { KernelChecksumStage } from '../tunnel/vnet-checksum.js';
import { AfPacketPort } from '../ports/af-packet-port.js';
import { runPlanHostProblems } from './run-plan.js';
import { BusyPoller } from './busy-poll.js';
import type { Port } from '../ports/port.js';
import type { VtepdConfig } from '../config/config-schema.js';
import type { Stage } from '../batch/stage.js';
import type { LocalDevice, Underlay } from './open-ports.js';
import { resolvePipeline, type PipelineSpec } from './resolve.js';
import { Forwarder } from './forward.js';
import { PacketTracer, type TraceResult } from './trace.js';
import { RemoteSet } from './remote-set.js';

export const STAGES = ['rx', 'decap', 'bridge', 'replicate', 'encap', 'checksum', 'tx'] as const;
const S_RX = 0, S_DECAP = 1, S_BRIDGE = 2, S_REPL = 3, S_ENCAP = 4, S_CSUM = 5, S_TX = 6;
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
  /** The config this was built from (kept for the control path's reports). */
  readonly cfg: VtepdConfig;
  /** What the stages were built from (src/pipeline/resolve.ts). */
  readonly spec: PipelineSpec;
  readonly devices: LocalDevice[];
  readonly underlay: Underlay;
  readonly table: MacTable;
  readonly domains: BridgeDomains;
  readonly bridge: BridgeStage;
  readonly decap: DecapStage;
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
  private readonly forwarder: Forwarder;
  private readonly rx: PacketBatch;
  private readonly idle: PacketBatch;
  /** The running packet trace, null when none (then the traced path costs one branch per batch). */
  private tracer: PacketTracer | null = null;
  private readonly underlaySet = new Set<Port>();
  /** Remote VTEPs added and removed while running (a control plane: EVPN), encap rebuilt (remote-set.ts). */
  readonly remotes: RemoteSet;

  constructor(o: DataplaneOptions) {
    const cfg = o.cfg;
    const hostProblems = runPlanHostProblems(cfg);
    if (hostProblems.length > 0) throw new Error(`offload plan cannot run on this host:\n  - ${hostProblems.join('\n  - ')}`);
    this.cfg = cfg;
    this.devices = o.devices;
    this.underlay = o.underlay;
    // All config translation is in the resolver; from here on only the spec is read.
    const spec = (this.spec = resolvePipeline(cfg, { localMac: o.localMac, remoteMacs: o.remoteMacs }));
    this.table = new MacTable(spec.table);
    this.domains = new BridgeDomains({ table: this.table });
    // Ageing runs on the timer (tick), not per batch: a per-batch step costs the same
    // at 1 frame per batch as at 256, and at low rates it was most of the bridge's time.
    const bridgeOpts = { table: this.table, domains: this.domains, clock: () => Date.now() / 1000, ageSlotsPerBatch: 0 };
    const nativeBridge = spec.bridgeImpl === 'native';
    this.bridge = nativeBridge ? new NativeBridgeStage(bridgeOpts) : new BridgeStage(bridgeOpts);
    const replicator = nativeBridge ? new NativeReplicator(this.bridge) : new Replicator(this.bridge);
    const size = spec.batchSize;
    this.rx = new PacketBatch({ capacity: size });
    this.idle = new PacketBatch({ capacity: 1 });
    this.forwarder = new Forwarder({
      replicator, meter: this.meter, slots: { repl: S_REPL, encap: S_ENCAP, csum: S_CSUM, tx: S_TX }, batchSize: size,
      encap: this.encap, csum: this.csum, txPort: this.txPort, portAt: this.portAt,
    }, (capacity) => new PacketBatch({ capacity }));
    for (const p of o.underlay.ports) this.underlaySet.add(p);

    const devOf = new Map<string, LocalDevice>();
    for (const d of o.devices) {
      this.portAt[d.port.index] = d.port;
      for (const m of d.members) devOf.set(m.name, d);
    }
    const nativeTunnel = spec.tunnelImpl === 'native';
    for (const n of spec.networks) {
      const dom = this.domains.addVniDomain(n.vni, { name: n.name, ageingSeconds: n.ageing });
      for (const pn of n.ports) {
        const dev = devOf.get(pn)!;
        const vlan = dev.members.find((m) => m.name === pn)!.vlan;
        this.domains.addPort(dom, dev.port.index, vlan, displayName(dev));
      }
      for (const r of n.remotes) this.domains.addRemoteIp(dom, r);
      this.encap[dom] = n.encap === null ? null : nativeTunnel ? new NativeEncapStage(n.encap) : new EncapStage(n.encap);
      this.txPort[dom] = o.underlay.txFor(n.txUdpPort);
      const cs = n.checksum;
      this.csum[dom] = cs === null ? null : cs.kind === 'kernel' ? this.kernelChecksum(this.txPort[dom], cs.complete) : new NativeChecksumStage({ ip4: false, udp: true });
    }
    this.decap = nativeTunnel ? new NativeDecapStage(spec.decap) : new DecapStage(spec.decap);
    for (const s of spec.statics) this.addStatic(s.vni, s.mac, s.port, s.remote);
    this.remotes = new RemoteSet(this, { localMac: o.localMac, remoteMacs: o.remoteMacs });
  }

  /** Every stage of this data path, for the stats and the trace (one counts convention). */
  stages(): Stage[] {
    const out: Stage[] = [this.decap, this.bridge];
    for (const e of this.encap) if (e) out.push(e);
    for (const c of this.csum) if (c) out.push(c);
    return out;
  }

  /** Batches abandoned because a stage or port threw (a bug or a vanished device); the daemon logs them. */
  errors = 0;
  onError: ((port: Port, err: Error) => void) | null = null;
  /**
   * Called after a wakeup's batches (and an ageing tick) when the table's
   * journal holds records: once per wakeup, never per frame. The backend uses
   * it to hand MAC events to a control plane (EVPN) within milliseconds; the
   * callee only schedules its work.
   */
  onJournal: (() => void) | null = null;

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
    if (this.onJournal !== null && this.table.journal !== null && this.table.journal.pending) this.onJournal();
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
    if (this.onJournal !== null && this.table.journal !== null && this.table.journal.pending) this.onJournal();
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
      if (this.tracer !== null) {
        this.handleTraced(b, port, isUnderlay, this.tracer);
      } else {
        if (isUnderlay) {
          this.decap.process(b);
          t = this.meter.stage(S_DECAP, t, n);
        }
        this.bridge.process(b);
        t = this.meter.stage(S_BRIDGE, t, n);
        this.forwarder.forward(b, t);
      }
      if (n < b.capacity) break;
    }
    return total;
  }

  /** One batch through the same stages with the tracer's hooks (not metered: it is the slow path). */
  private handleTraced(b: PacketBatch, port: Port, isUnderlay: boolean, tr: PacketTracer): void {
    const dev = this.devices.find((d) => d.port === port);
    tr.rx(b, dev !== undefined ? displayName(dev) : port.name, isUnderlay);
    if (isUnderlay) {
      this.decap.process(b);
      tr.afterDecap(b);
    }
    this.bridge.process(b);
    tr.afterBridge(b, this.bridge);
    this.forwarder.forwardTraced(b, tr);
    if (tr.complete) this.tracer = null;
  }

  /**
   * Record the next `count` frames through every stage (`vtepd trace`). Resolves
   * when they were seen or after `timeoutMs` with what was; one trace at a time.
   */
  trace(count: number, timeoutMs: number): Promise<TraceResult> {
    if (this.tracer !== null) return Promise.reject(new Error('a trace is already running'));
    const tr = new PacketTracer(count, this.domains);
    this.tracer = tr;
    const timer = setTimeout(() => {
      if (this.tracer === tr) this.tracer = null;
      tr.finish(true);
    }, timeoutMs);
    return tr.done.finally(() => clearTimeout(timer));
  }

  /** `complete` false: the network sends no UDP checksum, but its frames still need clean vnet slots. */
  private kernelChecksum(port: Port, complete: boolean): KernelChecksumStage {
    if (!(port instanceof AfPacketPort)) throw new Error('checksum: kernel needs the AF_PACKET underlay (its virtio-net header carries the request)');
    return new KernelChecksumStage(port, complete);
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

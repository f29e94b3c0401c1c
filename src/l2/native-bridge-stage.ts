/**
 * NativeBridgeStage: BridgeStage with its per-frame loops in C
 * (native-bindings/src/fdb.cc, `fdbLearnLookupBatch`), same options, same
 * results: decisions, drops, counters and table state are exactly those of
 * BridgeStage.process (test/l2/native-bridge-stage.test.ts checks it frame by
 * frame against the TypeScript stage).
 *
 * The MAC table stays in one place, the MacTable's `words`, which C reads and
 * writes in place. C classifies, refreshes known sources, looks up and decides;
 * a frame whose learning would change the table otherwise (new MAC, move, aged
 * or static-elsewhere source, limits, dampening) or whose classification would
 * create a domain or remote (autoCreate) is handed back here and runs the
 * TypeScript code. Classification has no effect on learning, and C only
 * classifies what an earlier creation cannot change (hits; misses only when
 * nothing is created), so "C classifies, then TS classifies the rest in order"
 * equals the TS first loop; the second loop stops at each frame TS must learn
 * and resumes after it, so frames are decided in order. In steady state (all
 * sources known) a batch is one native call.
 */
import { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { checkContract } from '../native/contract.js';
import { BATCH_CONTRACT } from '../batch/contract.js';
import { ticksOf } from './mac-table.js';
import { BridgeDomains } from './bridge-domain.js';
import { BridgeStage, type BridgeStageOptions } from './bridge-stage.js';
import type { ReadonlyKeyPairMap } from './key-map.js';
import { FDB_IO, FdbIo, L2_CONTRACT } from './contract.js';

/** The FdbCore handle (native-bindings/src/fdb.h). */
interface FdbCore {
  bindStage(io: Int32Array, action: Uint8Array, domainOf: Int32Array, srcPlace: Int32Array, tagLen: Uint8Array, stamp: Int32Array,
    keys: Int32Array, hashes: Int32Array, slow: Uint8Array, counters: Float64Array, drops: Float64Array, dropsNoDomain: Float64Array): void;
  bindMaps(byVniKeys: Int32Array, byVniVals: Int32Array, byPortVlanKeys: Int32Array, byPortVlanVals: Int32Array,
    remotePosKeys: Int32Array, remotePosVals: Int32Array, byAddrKeys: Int32Array, byAddrVals: Int32Array,
    remoteAddr: Uint32Array, remoteV6: Uint8Array): void;
  bindFlood(portStart: Int32Array, ports: Int32Array, remoteCount: Int32Array): void;
}

interface FdbAddon {
  FdbCore: new (words: Int32Array, ageing: Int32Array, s0: number, s1: number, homeSlots: number) => FdbCore;
  fdbLearnLookupBatch(core: FdbCore, view: NativeBatchView, count: number, from?: number): number;
}

const IO_NOW = FdbIo.now;
const IO_STARTED = FdbIo.started;
const IO_FIXED = FdbIo.fixed;
const IO_AUTO = FdbIo.auto;
const IO_TOUCHED = FdbIo.touched;
const IO_CAN_DOMAIN = FdbIo['can-domain'];
const IO_CAN_REMOTE = FdbIo['can-remote'];
const IO_MAX_PORTS = FdbIo['max-ports'];

let addon: FdbAddon | null = null;
function fdbAddon(): FdbAddon {
  if (addon !== null) return addon;
  const a = loadNativeExports<FdbAddon>('native forwarding/learning', ['FdbCore', 'fdbLearnLookupBatch'], loadNative);
  // Counter indexes, drop codes, actions and MAC meta bits come from the generated contract.
  checkContract(a, BATCH_CONTRACT);
  checkContract(a, L2_CONTRACT);
  addon = a;
  return a;
}

export class NativeBridgeStage extends BridgeStage {
  /** Frames whose learning ran the TypeScript path (new, moved, aged, static elsewhere, limits...). */
  slowFrames = 0;
  /** Frames whose classification ran the TypeScript path (autoCreate of a domain or remote, frame outside its slot). */
  slowClassified = 0;
  /** Native calls made (one per batch in steady state). */
  nativeCalls = 0;
  private readonly addon: FdbAddon;
  private readonly core: FdbCore;
  private readonly io = new Int32Array(FDB_IO.length);
  /** Per frame: 1 = C left its classification to TS. (C shares BridgeStage's stamp/keys/hashes scratch.) */
  private slow = new Uint8Array(256);
  /** Bound map arrays (a KeyPairMap replaces them when it grows) and the domains' version the flood lists were bound at. */
  private boundVals: Int32Array[] = [];
  /** The domains' maps C reads (fixed objects; their arrays change when they grow). */
  private readonly maps: ReadonlyKeyPairMap[];
  private floodVersion = -1;

  constructor(o: BridgeStageOptions) {
    super(o);
    this.addon = fdbAddon();
    const d = o.domains;
    this.maps = [d.byVni, d.byPortVlan, d.remotePos, d.byAddr];
    const [s0, s1] = o.table.seed;
    this.core = new this.addon.FdbCore(o.table.words, o.table.ageing, s0, s1, o.table.homeSlots);
    this.bindStage();
    this.bindMaps();
    this.bindFlood();
  }

  override process(batch: PacketBatch, now?: number): void {
    // Times that are not int32 ticks: C keeps time as int32, so let the TS stage handle them.
    if ((now !== undefined && (now | 0) !== now) || (this.now | 0) !== this.now) {
      super.process(batch, now);
      return;
    }
    const n = batch.count;
    if (this.action.length < n) {
      this.grow(batch.capacity);
      this.bindStage();
    }
    const fixed = now !== undefined || this.clock !== null;
    if (now !== undefined) this.advance(now);
    else if (this.clock !== null) this.advance(ticksOf(this.clock()));
    this.checkMaps();
    this.checkFlood();
    const io = this.io;
    io[IO_NOW] = this.now;
    io[IO_STARTED] = this.started ? 1 : 0;
    io[IO_FIXED] = fixed ? 1 : 0;
    const doms = this.domains;
    io[IO_AUTO] = doms.autoCreate ? 1 : 0;
    // Counts only grow: at a maximum now, nothing of this batch creates a domain / remote.
    io[IO_CAN_DOMAIN] = doms.count < doms.maxDomains ? 1 : 0;
    io[IO_CAN_REMOTE] = doms.remoteCount < doms.maxRemotes ? 1 : 0;
    io[IO_MAX_PORTS] = Math.min(doms.maxPorts, 0x7fffffff);
    const view = nativeBatchView(batch);
    const a = this.addon;
    let r = a.fdbLearnLookupBatch(this.core, view, n, -1);
    this.nativeCalls++;
    this.now = io[IO_NOW];
    this.started = io[IO_STARTED] !== 0;
    if (r < 0) {
      this.classifySlow(batch, n);
      this.checkMaps();
      this.checkFlood();
      r = a.fdbLearnLookupBatch(this.core, view, n, 0);
      this.nativeCalls++;
    }
    while (r < n) {
      // C stops only at a classified frame (domainOf[r] >= 0) whose learning TS must do.
      this.slowFrames++;
      this.decideFrame(batch, r, this.domainOf[r]);
      r = a.fdbLearnLookupBatch(this.core, view, n, r + 1);
      this.nativeCalls++;
    }
    this.touched = io[IO_TOUCHED];
    if (this.ageSlots > 0) this.table.ageStep(this.now, this.ageSlots);
  }

  /** The TS first loop for the frames C left (classify, MAC words, hashes); stamps are already set. */
  private classifySlow(batch: PacketBatch, n: number): void {
    const slow = this.slow;
    const d = batch.data;
    const keys = this.keys;
    const hashes = this.hashes;
    const table = this.table;
    for (let i = 0; i < n; i++) {
      if (slow[i] === 0) continue;
      this.slowClassified++;
      const dom = this.classify(batch, i);
      if (dom < 0) continue;
      const off = batch.offset[i];
      const k = i << 2;
      keys[k] = (d[off + 6] << 8) | d[off + 7];
      keys[k + 1] = (d[off + 8] << 24) | (d[off + 9] << 16) | (d[off + 10] << 8) | d[off + 11];
      keys[k + 2] = (d[off] << 8) | d[off + 1];
      keys[k + 3] = (d[off + 2] << 24) | (d[off + 3] << 16) | (d[off + 4] << 8) | d[off + 5];
      hashes[i << 1] = table.hashOf(dom, keys[k], keys[k + 1]);
      if ((d[off] & 1) === 0) hashes[(i << 1) + 1] = table.hashOf(dom, keys[k + 2], keys[k + 3]);
    }
  }

  /** Hand C the per-frame arrays (again after grow, which replaces them). */
  private bindStage(): void {
    if (this.slow.length < this.action.length) this.slow = new Uint8Array(this.action.length);
    this.core.bindStage(this.io, this.action, this.domainOf, this.srcPlace, this.tagLen, this.stamp, this.keys, this.hashes, this.slow,
      this.domainCounters, this.domainDrops, this.dropsNoDomain);
  }

  /** Rebind when a KeyPairMap grew (it then has new arrays). No allocation when nothing changed. */
  private checkMaps(): void {
    const m = this.maps;
    const b = this.boundVals;
    if (b.length === 4 && m[0].vals === b[0] && m[1].vals === b[1] && m[2].vals === b[2] && m[3].vals === b[3]) return;
    this.bindMaps();
  }

  private bindMaps(): void {
    const m = this.maps;
    this.core.bindMaps(m[0].keys, m[0].vals, m[1].keys, m[1].vals, m[2].keys, m[2].vals, m[3].keys, m[3].vals,
      this.domains.remoteAddr, this.domains.remoteV6);
    this.boundVals = m.map((x) => x.vals);
  }

  private checkFlood(): void {
    if (this.domains.version !== this.floodVersion) this.bindFlood();
  }

  private bindFlood(): void {
    const doms: BridgeDomains = this.domains;
    const nd = doms.count;
    const start = new Int32Array(nd + 1);
    const remotes = new Int32Array(Math.max(1, nd));
    for (let d = 0; d < nd; d++) {
      start[d + 1] = start[d] + doms.ports[d].length;
      remotes[d] = doms.remotes[d].length;
    }
    const ports = new Int32Array(Math.max(1, start[nd]));
    for (let d = 0; d < nd; d++) ports.set(doms.ports[d], start[d]);
    this.core.bindFlood(start, ports, remotes);
    this.floodVersion = this.domains.version;
  }
}

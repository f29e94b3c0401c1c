/**
 * NativeReplicator: the Replicator (replicate.ts) with its copy loops in C
 * (native-bindings/src/replicate.cc): same constructor, same calls, same
 * results — order of copies, split horizon, VLAN tag handling, metadata of
 * each copy, `lost`, resumable cursors and return values are Replicator's
 * (test/l2/native-replicate.test.ts compares them call by call). One native
 * call per fillLocal / fillRemote.
 *
 * C keeps its own copy of the domains' flood membership, handed over again
 * whenever BridgeDomains.version moves, and holds the BridgeStage's per-frame
 * arrays, rebound when BridgeStage.grow() replaces them (seen by identity).
 */
import { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { checkContract } from '../native/contract.js';
import { BATCH_CONTRACT } from '../batch/contract.js';
import { BridgeStage } from './bridge-stage.js';
import { Replicator } from './replicate.js';
import { L2_CONTRACT, REPLICATE_STATE, ReplicateSt } from './contract.js';

/** The ReplicateCore handle (native-bindings/src/replicate.cc). */
interface ReplicateCore {
  bindStage(state: Int32Array, action: Uint8Array, domainOf: Int32Array, srcPlace: Int32Array, tagLen: Uint8Array): void;
  setMembership(portStart: Int32Array, ports: Int32Array, portTags: Int32Array, remoteStart: Int32Array, remotes: Int32Array, vni: Int32Array): void;
}

interface ReplicateAddon {
  ReplicateCore: new () => ReplicateCore;
  replicateLocal(core: ReplicateCore, inView: NativeBatchView, inCount: number, outView: NativeBatchView, outCount: number): boolean;
  replicateRemote(core: ReplicateCore, inView: NativeBatchView, inCount: number, outView: NativeBatchView, outCount: number): number;
}

// Words of the state array shared with C (l2/contract.ts, kSt* in replicate.cc).
const ST_LI = ReplicateSt.li;
const ST_LK = ReplicateSt.lk;
const ST_RI = ReplicateSt.ri;
const ST_RK = ReplicateSt.rk;
const ST_OUT_COUNT = ReplicateSt['out-count'];
const ST_LOST = ReplicateSt.lost;

let addon: ReplicateAddon | null = null;
function replicateAddon(): ReplicateAddon {
  if (addon !== null) return addon;
  const a = loadNativeExports<ReplicateAddon>('native replication', ['ReplicateCore', 'replicateLocal', 'replicateRemote'], loadNative);
  checkContract(a, BATCH_CONTRACT);
  checkContract(a, L2_CONTRACT);
  addon = a;
  return a;
}

export class NativeReplicator extends Replicator {
  /** Native calls made (one per fillLocal / fillRemote with a batch started). */
  nativeCalls = 0;
  private readonly addon: ReplicateAddon;
  private readonly core: ReplicateCore;
  private readonly bridge: BridgeStage;
  private readonly state = new Int32Array(REPLICATE_STATE.length);
  private input: PacketBatch | null = null;
  private inView: NativeBatchView | null = null;
  /** The last output batch and its view (a daemon reuses the same two). */
  private lastOut: PacketBatch | null = null;
  private lastOutView: NativeBatchView | null = null;
  /** The stage arrays bound in C (BridgeStage.grow replaces them). */
  private boundAction: Uint8Array | null = null;
  private boundDomainOf: Int32Array | null = null;
  private boundSrcPlace: Int32Array | null = null;
  private boundTagLen: Uint8Array | null = null;
  private memberVersion = -1;

  constructor(stage: BridgeStage) {
    super(stage);
    this.addon = replicateAddon();
    this.bridge = stage;
    this.core = new this.addon.ReplicateCore();
    this.bindStage();
    this.setMembership();
  }

  override start(batch: PacketBatch): void {
    this.input = batch;
    this.inView = nativeBatchView(batch);
    const s = this.state;
    s[ST_LI] = s[ST_LK] = s[ST_RI] = s[ST_RK] = 0;
  }

  override fillLocal(out: PacketBatch): boolean {
    const b = this.input;
    if (b === null) return true;
    this.check();
    const done = this.addon.replicateLocal(this.core, this.inView!, b.count, this.outView(out), out.count);
    this.nativeCalls++;
    const s = this.state;
    out.count = s[ST_OUT_COUNT];
    this.lost += s[ST_LOST];
    return done;
  }

  override fillRemote(out: PacketBatch): number {
    const b = this.input;
    if (b === null) return -1;
    this.check();
    const dom = this.addon.replicateRemote(this.core, this.inView!, b.count, this.outView(out), out.count);
    this.nativeCalls++;
    const s = this.state;
    out.count = s[ST_OUT_COUNT];
    this.lost += s[ST_LOST];
    return dom;
  }

  private outView(out: PacketBatch): NativeBatchView {
    if (out !== this.lastOut) {
      this.lastOutView = nativeBatchView(out);
      this.lastOut = out;
    }
    return this.lastOutView!;
  }

  /** Rebind what changed since the last call: the stage's arrays (identity) and the membership (version). */
  private check(): void {
    const st = this.bridge;
    if (st.action !== this.boundAction || st.domainOf !== this.boundDomainOf || st.srcPlace !== this.boundSrcPlace || st.tagLen !== this.boundTagLen) {
      this.bindStage();
    }
    if (st.domains.version !== this.memberVersion) this.setMembership();
  }

  private bindStage(): void {
    const st = this.bridge;
    this.core.bindStage(this.state, st.action, st.domainOf, st.srcPlace, st.tagLen);
    this.boundAction = st.action;
    this.boundDomainOf = st.domainOf;
    this.boundSrcPlace = st.srcPlace;
    this.boundTagLen = st.tagLen;
  }

  /** Flatten the flood lists for C, which copies them (control path: allocates). */
  private setMembership(): void {
    const doms = this.bridge.domains;
    const nd = doms.count;
    const portStart = new Int32Array(nd + 1);
    const remoteStart = new Int32Array(nd + 1);
    const vni = new Int32Array(Math.max(1, nd));
    for (let d = 0; d < nd; d++) {
      portStart[d + 1] = portStart[d] + doms.ports[d].length;
      remoteStart[d + 1] = remoteStart[d] + doms.remotes[d].length;
      vni[d] = doms.vni[d];
    }
    const ports = new Int32Array(Math.max(1, portStart[nd]));
    const tags = new Int32Array(Math.max(1, portStart[nd]));
    const remotes = new Int32Array(Math.max(1, remoteStart[nd]));
    for (let d = 0; d < nd; d++) {
      ports.set(doms.ports[d], portStart[d]);
      tags.set(doms.portTags[d], portStart[d]);
      remotes.set(doms.remotes[d], remoteStart[d]);
    }
    this.core.setMembership(portStart, ports, tags, remoteStart, remotes, vni);
    this.memberVersion = doms.version;
  }
}

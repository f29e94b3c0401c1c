/**
 * Packet trace (VPP's per-node trace): records the next N frames the data path
 * takes and every stage's decision about them — decap (kind, VNI, remote),
 * bridge (unicast to a port or remote, flood and its targets), each copy's
 * encap (remote, entropy, outer header) and transmit, and the registry name of
 * any drop. Opt-in: the Dataplane runs its traced path only while a tracer is
 * set (one branch per batch otherwise), so tracing costs nothing when off.
 *
 * Copies made by the replicator are matched to their frame through
 * `wireLength`: before replicating, each frame's wireLength is set to its
 * length + (index + 1) << 16, which every copy inherits (copy wireLength =
 * frame wireLength - length + copy length, encap adds its header to both);
 * the true values are put back before anything is transmitted.
 */
import { PacketBatch, PacketFlag, TUNNEL_KIND_NAMES, TUNNEL_KIND_SHIFT } from '../batch/packet-batch.js';
import { dropReasonName } from '../batch/drop-reasons.js';
import { formatTs } from '../dissect/format-json.js';
import { addrWordsText, type BridgeDomains } from '../l2/bridge-domain.js';
import { Action, type BridgeStage } from '../l2/bridge-stage.js';
import { MacFlag, OUT_MASK } from '../l2/mac-store.js';

/** Bytes of each frame kept in a record (headers and the start of the payload). */
export const TRACE_BYTES = 256;

/** One stage's decision about a frame (or about one copy of it). */
export interface TraceStep {
  stage: 'decap' | 'bridge' | 'encap' | 'checksum' | 'tx';
  /** decap: decapsulated | passed | dropped; bridge: local | remote | flood | dropped; encap: encapsulated | dropped; tx: sent. */
  verdict: string;
  /** Registry drop reason when the verdict is dropped. */
  drop?: string;
  /** decap: tunnel kind recognised (also for a dropped frame). */
  kind?: string;
  vni?: number;
  /** Remote VTEP: decap's source, bridge's unicast target, encap's destination. */
  remote?: string;
  /** Local port: bridge's unicast target, tx's port. */
  port?: string;
  /** bridge flood: every member the frame is copied to (split horizon applied). */
  targets?: string[];
  /** encap: outer UDP source port / NVGRE FlowID (the inner flow's entropy). */
  entropy?: number;
  /** The frame as the stage left it (hex, first TRACE_BYTES bytes): inner after decap, outer after encap, the copy at tx. */
  frame?: string;
  len?: number;
}

export interface TraceFrame {
  /** 1.. in arrival order. */
  seq: number;
  /** Arrival timestamp, seconds.nanoseconds. */
  ts: string;
  port: string;
  role: 'local' | 'underlay';
  len: number;
  wireLen: number;
  /** The frame as received (hex, first TRACE_BYTES bytes). */
  frame: string;
  steps: TraceStep[];
}

export interface TraceResult {
  requested: number;
  traced: number;
  /** True when fewer than `requested` frames arrived before the timeout. */
  timedOut: boolean;
  frames: TraceFrame[];
}


const hex = (b: PacketBatch, i: number): string =>
  Buffer.from(b.data.buffer, b.data.byteOffset + b.offset[i], Math.min(b.length[i], TRACE_BYTES)).toString('hex');

export class PacketTracer {
  readonly frames: TraceFrame[] = [];
  readonly done: Promise<TraceResult>;
  private left: number;
  private finished = false;
  private resolveDone!: (r: TraceResult) => void;
  /** Per slot of the current batch: index into frames (-1 = not traced), alive so far, wireLength - length before marking. */
  private at = new Int32Array(0);
  private alive = new Uint8Array(0);
  private wire = new Float64Array(0);

  /** `domains` names ports, remotes and VNIs. */
  constructor(readonly requested: number, private readonly domains: BridgeDomains) {
    this.left = requested;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get complete(): boolean {
    return this.left === 0;
  }

  /** Start of a batch: the first frames (while some are wanted) become records. */
  rx(b: PacketBatch, port: string, underlay: boolean): void {
    if (this.at.length < b.capacity) {
      this.at = new Int32Array(b.capacity);
      this.alive = new Uint8Array(b.capacity);
      this.wire = new Float64Array(b.capacity);
    }
    this.at.fill(-1);
    for (let i = 0; i < b.count && this.left > 0; i++, this.left--) {
      this.at[i] = this.frames.length;
      this.alive[i] = b.drop[i] === 0 ? 1 : 0;
      this.frames.push({
        seq: this.frames.length + 1, ts: formatTs(b.tsSec[i], b.tsNsec[i]), port, role: underlay ? 'underlay' : 'local',
        len: b.length[i], wireLen: b.wireLength[i], frame: hex(b, i), steps: [],
      });
    }
  }

  private step(i: number, s: TraceStep): void {
    this.frames[this.at[i]].steps.push(s);
  }

  afterDecap(b: PacketBatch): void {
    for (let i = 0; i < b.count; i++) {
      if (this.at[i] < 0 || this.alive[i] === 0) continue;
      const kind = TUNNEL_KIND_NAMES[(b.flags[i] & PacketFlag.TUNNEL_KIND) >> TUNNEL_KIND_SHIFT];
      if (b.drop[i] !== 0) {
        this.alive[i] = 0;
        this.step(i, { stage: 'decap', verdict: 'dropped', drop: dropReasonName(b.drop[i]), kind });
      } else if ((b.flags[i] & PacketFlag.DECAPPED) !== 0) {
        const r = i << 2;
        const ra = b.remoteAddr;
        const v6 = (b.flags[i] & PacketFlag.REMOTE_V6) !== 0;
        const remote = addrWordsText(ra[r], ra[r + 1], ra[r + 2], ra[r + 3], v6);
        this.step(i, { stage: 'decap', verdict: 'decapsulated', kind, vni: b.vni[i], remote, entropy: b.entropy[i], frame: hex(b, i), len: b.length[i] });
      } else this.step(i, { stage: 'decap', verdict: 'passed', kind });
    }
  }

  afterBridge(b: PacketBatch, st: BridgeStage): void {
    const doms = this.domains;
    for (let i = 0; i < b.count; i++) {
      if (this.at[i] < 0 || this.alive[i] === 0) continue;
      const dom = st.domainOf[i];
      const vni = dom >= 0 ? doms.vni[dom] : undefined;
      const act = st.action[i];
      if (act === Action.DROP || b.drop[i] !== 0) {
        this.alive[i] = 0;
        this.step(i, { stage: 'bridge', verdict: 'dropped', drop: dropReasonName(b.drop[i]), vni });
      } else if (act === Action.LOCAL) {
        this.step(i, { stage: 'bridge', verdict: 'local', vni, port: this.domains.portName(b.outPort[i]) });
      } else if (act === Action.REMOTE) {
        this.step(i, { stage: 'bridge', verdict: 'remote', vni, remote: doms.remoteIp(b.outPort[i]) });
      } else {
        const src = st.srcPlace[i];
        const inPort = (src & MacFlag.LOCAL) !== 0 ? src & OUT_MASK : -1;
        const targets = [...doms.ports[dom]].filter((p) => p !== inPort).map((p) => this.domains.portName(p));
        // Split horizon: a flood from a remote VTEP goes to local ports only.
        if ((src & MacFlag.REMOTE) === 0) for (const r of doms.remotes[dom]) targets.push(doms.remoteIp(r));
        this.step(i, { stage: 'bridge', verdict: 'flood', vni, targets });
      }
    }
  }

  /** Before replication: tag every frame's wireLength with its index (see the file comment). */
  markCopies(b: PacketBatch): void {
    for (let i = 0; i < b.count; i++) {
      this.wire[i] = (b.wireLength[i] - b.length[i]) >>> 0;
      b.wireLength[i] = b.length[i] + ((i + 1) << 16);
    }
  }

  /** Frame index of copy j (and its true wireLength put back). */
  private source(out: PacketBatch, j: number): number {
    const i = (((out.wireLength[j] - out.length[j]) >>> 0) >>> 16) - 1;
    out.wireLength[j] = out.length[j] + this.wire[i];
    return i;
  }

  /** A batch of local copies, before it is transmitted. */
  localCopies(lo: PacketBatch): void {
    for (let j = 0; j < lo.count; j++) {
      const i = this.source(lo, j);
      if (this.at[i] >= 0) this.step(i, { stage: 'tx', verdict: 'sent', port: this.domains.portName(lo.outPort[j]), frame: hex(lo, j), len: lo.length[j] });
    }
  }

  /** A batch of one network's remote copies after encap (and the checksum pass), before transmit. */
  remoteCopies(ro: PacketBatch, dom: number, checksum: string | null, txPort: string): void {
    const doms = this.domains;
    for (let j = 0; j < ro.count; j++) {
      const i = this.source(ro, j);
      if (this.at[i] < 0) continue;
      const remote = doms.remoteIp(doms.remotes[dom][ro.outPort[j] < 0 ? 0 : ro.outPort[j]] ?? -1);
      if (ro.drop[j] !== 0) {
        this.step(i, { stage: 'encap', verdict: 'dropped', drop: dropReasonName(ro.drop[j]), vni: doms.vni[dom], remote });
        continue;
      }
      this.step(i, { stage: 'encap', verdict: 'encapsulated', vni: ro.vni[j], remote, entropy: ro.entropy[j], frame: hex(ro, j), len: ro.length[j] });
      if (checksum !== null) this.step(i, { stage: 'checksum', verdict: checksum });
      this.step(i, { stage: 'tx', verdict: 'sent', port: txPort });
    }
  }

  /** End of a batch: the frames' true wireLength back; done when enough frames were seen. */
  endBatch(b: PacketBatch): void {
    for (let i = 0; i < b.count; i++) b.wireLength[i] = b.length[i] + this.wire[i];
    if (this.left === 0) this.finish(false);
  }

  finish(timedOut: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveDone({ requested: this.requested, traced: this.frames.length, timedOut, frames: this.frames });
  }
}

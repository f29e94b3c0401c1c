/**
 * The output half of the data path: replicate (one copy per output), encap
 * per network, the outer checksum pass, transmit. Local copies leave in runs
 * per output port; remote copies in batches of one network each (what that
 * network's encap stage takes). `forwardTraced` is the same path with the
 * tracer's hooks; the Dataplane picks one of the two once per batch.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import type { Stage } from '../batch/stage.js';
import type { CostMeter } from '../cost/meter.js';
import type { Replicator } from '../l2/replicate.js';
import type { Port } from '../ports/port.js';
import type { PacketTracer } from './trace.js';

/** Meter stage indices (Dataplane STAGES). */
export interface ForwardMeterSlots { repl: number; encap: number; csum: number; tx: number }

export interface ForwarderParts {
  replicator: Replicator;
  meter: CostMeter;
  slots: ForwardMeterSlots;
  batchSize: number;
  /** Per bridge domain: encap stage (null without remotes), checksum pass (null when none), underlay port. */
  encap: (Stage | null)[];
  csum: (Stage | null)[];
  txPort: Port[];
  /** Local device port by bridge port index. */
  portAt: (Port | undefined)[];
}

export class Forwarder {
  private readonly localOut: PacketBatch;
  private readonly remoteOut: PacketBatch;

  constructor(private readonly p: ForwarderParts, makeBatch: (capacity: number) => PacketBatch) {
    this.localOut = makeBatch(p.batchSize);
    this.remoteOut = makeBatch(p.batchSize);
  }

  forward(b: PacketBatch, t0: number): void {
    const { replicator: rep, meter: m, slots: s } = this.p;
    const lo = this.localOut;
    const ro = this.remoteOut;
    let t = t0;
    rep.start(b);
    for (;;) {
      lo.clear();
      const done = rep.fillLocal(lo);
      t = m.stage(s.repl, t, lo.count);
      if (lo.count > 0) {
        this.sendLocal(lo);
        t = m.stage(s.tx, t, lo.count);
      }
      if (done) break;
    }
    for (;;) {
      ro.clear();
      const dom = rep.fillRemote(ro);
      t = m.stage(s.repl, t, ro.count);
      if (dom < 0) break;
      const enc = this.p.encap[dom];
      if (enc === null) continue;
      enc.process(ro);
      t = m.stage(s.encap, t, ro.count);
      const cs = this.p.csum[dom];
      if (cs !== null) {
        cs.process(ro);
        t = m.stage(s.csum, t, ro.count);
      }
      this.p.txPort[dom].transmit(ro);
      t = m.stage(s.tx, t, ro.count);
    }
  }

  /** forward() with the tracer's hooks (slow path: only while a trace runs). */
  forwardTraced(b: PacketBatch, tr: PacketTracer): void {
    const rep = this.p.replicator;
    const lo = this.localOut;
    const ro = this.remoteOut;
    tr.markCopies(b);
    rep.start(b);
    for (;;) {
      lo.clear();
      const done = rep.fillLocal(lo);
      if (lo.count > 0) {
        tr.localCopies(lo);
        this.sendLocal(lo);
      }
      if (done) break;
    }
    for (;;) {
      ro.clear();
      const dom = rep.fillRemote(ro);
      if (dom < 0) break;
      const enc = this.p.encap[dom];
      if (enc === null) continue;
      enc.process(ro);
      const cs = this.p.csum[dom];
      if (cs !== null) cs.process(ro);
      const tx = this.p.txPort[dom];
      tr.remoteCopies(ro, dom, cs === null ? null : cs.constructor.name === 'KernelChecksumStage' ? 'left to the kernel (NEEDS_CSUM)' : 'computed in C', tx.name);
      tx.transmit(ro);
    }
    tr.endBatch(b);
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
      const port = this.p.portAt[p];
      if (port !== undefined) port.transmit(lo, start, end - start);
      start = end;
    }
  }
}

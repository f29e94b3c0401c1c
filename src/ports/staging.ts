/**
 * Staging for event-driven backends (cap, dgram, raw-socket), whose libraries
 * call JS once per frame: each event copies its frame into a preallocated batch
 * (no allocation here), and one coalesced setImmediate tells the owner to drain
 * it with receive(), so the pipeline still sees whole batches.
 */
import { PacketBatch } from '../batch/packet-batch.js';

export class Staging {
  readonly batch: PacketBatch;
  private readPos = 0;
  private scheduled = false;
  private cb: (() => void) | null = null;
  private readonly fire = (): void => {
    this.scheduled = false;
    if (this.cb !== null && this.readPos < this.batch.count) this.cb();
  };

  constructor(capacity: number, dataRoom: number, headroom = 128) {
    this.batch = new PacketBatch({ capacity, dataRoom, headroom });
  }

  /** Frames waiting to be received. */
  get pending(): number { return this.batch.count - this.readPos; }

  setCallback(cb: (() => void) | null): void {
    this.cb = cb;
    if (cb !== null && this.pending > 0) this.schedule();
  }

  /** Call after pushing frames: wakes the owner once per event-loop turn. */
  schedule(): void {
    if (this.scheduled || this.cb === null) return;
    this.scheduled = true;
    setImmediate(this.fire);
  }

  /** Reserve the next slot (index), or -1 when full. Caller fills bytes and metadata. */
  reserve(): number {
    const b = this.batch;
    if (b.count >= b.capacity) {
      if (this.readPos < b.count) return -1;
      b.clear();
      this.readPos = 0;
    }
    return b.count;
  }

  /** Copy staged frames (bytes, timestamps, remote/entropy/flags/l2-l4) into `dst`; returns how many. */
  pull(dst: PacketBatch, inPort: number): number {
    const s = this.batch;
    let n = 0;
    while (this.readPos < s.count && dst.count < dst.capacity) {
      const r = this.readPos++;
      const i = dst.append(s.data, s.offset[r], s.length[r], s.wireLength[r], s.tsSec[r], s.tsNsec[r], inPort);
      if (i < 0) continue; // larger than the destination slot: counted by the caller via `lost`
      dst.flags[i] = s.flags[r];
      dst.l2[i] = s.l2[r];
      dst.l3[i] = s.l3[r];
      dst.l4[i] = s.l4[r];
      dst.entropy[i] = s.entropy[r];
      dst.remoteAddr.set(s.remoteAddr.subarray(r << 2, (r << 2) + 4), i << 2);
      n++;
    }
    if (this.readPos === s.count) {
      s.clear();
      this.readPos = 0;
    }
    return n;
  }
}

/** Wall-clock timestamp split like the batch keeps it (for backends without kernel timestamps). */
export function stampNow(b: PacketBatch, i: number): void {
  const ms = Date.now();
  const sec = Math.floor(ms / 1000);
  b.tsSec[i] = sec;
  b.tsNsec[i] = (ms - sec * 1000) * 1000000;
}

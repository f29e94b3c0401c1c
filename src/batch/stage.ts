/**
 * The stage contract: what every fast-path stage (decap, bridge, encap,
 * checksum; TypeScript or C) is to the pipeline, the stats and the trace.
 *
 *   name       the stage's name in stats, metrics and traces ('decap', ...)
 *   process    one batch: decide per frame, write drop codes from the global
 *              registry (drop-reasons.ts) into batch.drop, never throw per frame
 *   counters   one counts convention (StageCounters): frames in (alive ones
 *              handed to the stage), frames out (left alive), drops per code
 *
 * Counts are kept in locals or a scratch array during a batch and added here
 * once per batch. A C stage adds its batch into a Uint32Array laid out as
 * [in, out, extra, drops by code...] (COUNTS_*, also in contract.h) and the
 * TypeScript side drains it with `drain`, so no allocation on either side.
 */
import type { PacketBatch } from './packet-batch.js';
import { DROP_CODES, dropCounterName } from './drop-reasons.js';

export interface Stage {
  readonly name: string;
  process(batch: PacketBatch): void;
  readonly counters: StageCounters;
}

/** Layout of a native stage's counts array (index of each word). */
export const COUNTS_IN = 0;
export const COUNTS_OUT = 1;
/** One stage-specific count (decap: non-tunnel frames passed; checksum: frames left alone). */
export const COUNTS_EXTRA = 2;
/** counts[COUNTS_DROPS + code]. */
export const COUNTS_DROPS = 3;
export const COUNTS_LEN = COUNTS_DROPS + DROP_CODES;

export class StageCounters {
  /** Frames handed to the stage alive (frames dropped upstream are not counted). */
  inFrames = 0;
  /** Frames the stage left alive. */
  outFrames = 0;
  /** The stage-specific count (see COUNTS_EXTRA); named by `extraName`. */
  extra = 0;
  /** Per drop code (index = code, registry-wide). */
  readonly drops = new Float64Array(DROP_CODES);

  constructor(readonly extraName: string | null = null) {}

  /** Add one batch's scratch drop counts (index = code) and zero the scratch. */
  addDrops(scratch: Uint32Array | Float64Array, from = 0): void {
    const d = this.drops;
    for (let c = 1; c < DROP_CODES; c++) {
      const v = scratch[from + c];
      if (v !== 0) {
        d[c] += v;
        scratch[from + c] = 0;
      }
    }
  }

  /** Add a native stage's counts array (COUNTS_* layout) and zero it. */
  drain(counts: Uint32Array): void {
    this.inFrames += counts[COUNTS_IN];
    this.outFrames += counts[COUNTS_OUT];
    this.extra += counts[COUNTS_EXTRA];
    counts[COUNTS_IN] = 0;
    counts[COUNTS_OUT] = 0;
    counts[COUNTS_EXTRA] = 0;
    this.addDrops(counts, COUNTS_DROPS);
  }

  totalDrops(): number {
    let n = 0;
    for (let c = 1; c < DROP_CODES; c++) n += this.drops[c];
    return n;
  }

  /** Named counters: in-frames, out-frames, the extra one, non-zero drops. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = { 'in-frames': this.inFrames, 'out-frames': this.outFrames };
    if (this.extraName !== null) out[this.extraName] = this.extra;
    for (let c = 1; c < DROP_CODES; c++) if (this.drops[c] !== 0) out[dropCounterName(c)] = this.drops[c];
    return out;
  }

  reset(): void {
    this.inFrames = 0;
    this.outFrames = 0;
    this.extra = 0;
    this.drops.fill(0);
  }
}

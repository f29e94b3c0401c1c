/**
 * Counters of a tunnel stage (Snabb naming: `in-`, `out-`, `drop-<reason>`).
 * The stage keeps its per-batch counts in locals / a scratch array and adds
 * them here once per batch; totals are doubles so they never wrap.
 */
import { TUNNEL_DROP_CODES, dropCounterName } from './drop-reasons.js';

export class TunnelCounters {
  /** Frames handed to the stage (alive ones; frames already dropped upstream are not counted). */
  inFrames = 0;
  /** Frames the stage left alive. */
  outFrames = 0;
  /** Decap only: non-tunnel frames passed through untouched (keepOther). */
  passedOther = 0;
  /** Per drop code (index = code, see drop-reasons.ts). */
  readonly drops = new Float64Array(TUNNEL_DROP_CODES);

  /** Add one batch's scratch drop counts (and zero the scratch). */
  addDrops(scratch: Uint32Array): void {
    const d = this.drops;
    for (let c = 1; c < scratch.length; c++) {
      if (scratch[c] !== 0) {
        d[c] += scratch[c];
        scratch[c] = 0;
      }
    }
  }

  totalDrops(): number {
    let n = 0;
    for (let c = 1; c < this.drops.length; c++) n += this.drops[c];
    return n;
  }

  /** Named counters, non-zero drops only (plus the three totals). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      'in-frames': this.inFrames,
      'out-frames': this.outFrames,
      'pass-not-tunnel': this.passedOther,
    };
    for (let c = 1; c < this.drops.length; c++) if (this.drops[c] !== 0) out[dropCounterName(c)] = this.drops[c];
    return out;
  }

  reset(): void {
    this.inFrames = 0;
    this.outFrames = 0;
    this.passedOther = 0;
    this.drops.fill(0);
  }
}

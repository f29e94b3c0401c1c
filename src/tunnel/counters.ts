/**
 * Counters of a tunnel stage: the common StageCounters (src/batch/stage.ts:
 * in-frames, out-frames, drop-<reason> by registry code) plus decap's one
 * extra count, non-tunnel frames passed through untouched (keepOther).
 */
import { StageCounters } from '../batch/stage.js';

export class TunnelCounters extends StageCounters {
  constructor() {
    super('pass-not-tunnel');
  }

  /** Decap only: non-tunnel frames passed through untouched (keepOther). */
  get passedOther(): number {
    return this.extra;
  }

  set passedOther(v: number) {
    this.extra = v;
  }
}

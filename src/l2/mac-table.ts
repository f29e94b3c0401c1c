/**
 * MAC learning table: key = bridge domain index + 48-bit MAC, value = where the
 * MAC lives (local port or remote VTEP index) + flags + age stamp.
 *   mac-store.ts  storage: robin-hood open addressing in one Int32Array
 *   mac-learn.ts  fast path: lookup, lookupMany, learn (limits, moves, dampening), statics
 *   this file     incremental ageing, flush, dump (the control side)
 *
 * Time is passed in as `now` in ticks (1/100 s, wrapping int32: see `ticksOf`),
 * so a replay driven by capture timestamps gives the same table every run.
 * An entry older than its domain's ageing time is dead at once: lookups miss it
 * and learning replaces it, whether or not the incremental ager reached it yet.
 */
import { MacFlag, PLACE_MASK, OUT_MASK } from './mac-store.js';
import { TABLE_COUNTERS, TableCtr } from './counters.js';
import { MacLearner, localPlace, remotePlace } from './mac-learn.js';
import { MacEv } from './mac-journal.js';

export { MacFlag, OUT_MASK, PLACE_MASK } from './mac-store.js';
export {
  TICKS_PER_SECOND, ticksOf, localPlace, remotePlace, FULL_POLICIES,
  type FullPolicy, type MacTableOptions, type MacFrozenEvent,
} from './mac-learn.js';

export interface MacEntry {
  domain: number;
  macHi: number;
  macLo: number;
  out: number;
  remote: boolean;
  static: boolean;
  frozen: boolean;
  stamp: number;
}

export interface FlushFilter {
  domain?: number;
  port?: number;
  remote?: number;
  /** Static entries are kept unless this is set. */
  includeStatic?: boolean;
}

const NC = TABLE_COUNTERS.length;

export class MacTable extends MacLearner {
  private ageHand = 0;

  /**
   * One bounded ageing step: continue from where the last step stopped and remove
   * dead dynamic entries, spending at most `budget` units of work: one per slot
   * examined, plus one per entry a removal shifts back. (Counting slots alone let
   * a step that empties long clusters do budget x cluster-length moves: 2048
   * slots took up to 0.8 ms.) Deterministic, so replays age identically.
   * Returns the number removed.
   */
  ageStep(now: number, budget: number): number {
    const w = this.words;
    const len = w.length;
    const ageing = this.ageing;
    let b = this.ageHand;
    let removed = 0;
    for (let work = 0; work < budget; work++) {
      const m = w[b + 2];
      // A removal shifts the next entry into b: look at b again (hence no advance).
      if (m !== 0 && (m & MacFlag.STATIC) === 0 && ((now - w[b + 3]) | 0) >= ageing[w[b] >>> 16]) {
        work += this.removeAt(b, (w[b] >>> 16) * NC + TableCtr.aged);
        removed++;
        continue;
      }
      b += 4;
      if (b >= len) b = 0;
    }
    this.ageHand = b;
    return removed;
  }

  /** A full ageing pass over every slot (control path, end of a replay). */
  ageAll(now: number): number {
    const w = this.words;
    let removed = 0;
    for (let b = 0; b < w.length; ) {
      const m = w[b + 2];
      if (m !== 0 && (m & MacFlag.STATIC) === 0 && ((now - w[b + 3]) | 0) >= this.ageing[w[b] >>> 16]) {
        this.removeAt(b, (w[b] >>> 16) * NC + TableCtr.aged);
        removed++;
        continue; // the next entry shifted into b
      }
      b += 4;
    }
    return removed;
  }

  /** Remove the entries matching every given filter field. Returns the number removed. */
  flush(f: FlushFilter = {}): number {
    const any = f.domain === undefined && f.port === undefined && f.remote === undefined;
    if (any && f.includeStatic) {
      // Everything goes: count per domain in one pass, then clear (no cluster shifting).
      const w = this.words;
      const j = this.journal;
      for (let b = 2; b < w.length; b += 4) {
        if (w[b] === 0) continue;
        this.counters[(w[b - 2] >>> 16) * NC + TableCtr.flushed]++;
        if (j !== null) j.record(MacEv.removed, w[b - 2] >>> 16, w[b - 2] & 0xffff, w[b - 1], w[b] & PLACE_MASK);
      }
      const n = this.size;
      this.portCount.fill(0);
      this.remoteCount.fill(0);
      this.clearAll();
      return n;
    }
    const w = this.words;
    const placeWanted = f.port !== undefined ? localPlace(f.port) : f.remote !== undefined ? remotePlace(f.remote) : -1;
    let removed = 0;
    for (let b = 0; b < w.length; ) {
      const m = w[b + 2];
      if (m !== 0 && (f.includeStatic || (m & MacFlag.STATIC) === 0) &&
        (f.domain === undefined || w[b] >>> 16 === f.domain) && (placeWanted < 0 || (m & PLACE_MASK) === placeWanted)) {
        this.removeAt(b, (w[b] >>> 16) * NC + TableCtr.flushed);
        removed++;
        continue; // the next entry shifted into b
      }
      b += 4;
    }
    return removed;
  }

  /** Every entry, sorted by domain, then MAC (control path: allocates). */
  dump(domain?: number): MacEntry[] {
    const w = this.words;
    const out: MacEntry[] = [];
    for (let b = 0; b < w.length; b += 4) {
      const m = w[b + 2];
      if (m === 0 || (domain !== undefined && w[b] >>> 16 !== domain)) continue;
      out.push({
        domain: w[b] >>> 16, macHi: w[b] & 0xffff, macLo: w[b + 1] >>> 0, out: m & OUT_MASK,
        remote: (m & MacFlag.REMOTE) !== 0, static: (m & MacFlag.STATIC) !== 0, frozen: (m & MacFlag.FROZEN) !== 0, stamp: w[b + 3],
      });
    }
    out.sort((a, b) => a.domain - b.domain || a.macHi - b.macHi || a.macLo - b.macLo);
    return out;
  }
}

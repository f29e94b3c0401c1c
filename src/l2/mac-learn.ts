/**
 * MAC table policy, fast path: lookups and learning with limits, full policy,
 * moves and dampening, static entries. Storage and probing are in
 * mac-store.ts; ageing, flushing and dumping in mac-table.ts (MacTable, the
 * class everyone uses, extends this one).
 *
 * Time is passed in as `now` in ticks (1/100 s, wrapping int32: see `ticksOf`),
 * so a replay driven by capture timestamps gives the same table every run.
 * An entry older than its domain's ageing time is dead at once: lookups miss it
 * and learning replaces it, whether or not the incremental ager reached it yet.
 */
import { MacStore, MacFlag, PLACE_MASK, OUT_MASK, DIST_SHIFT } from './mac-store.js';
import { macHash } from './mac-hash.js';
import { FlapDamper, type FlapOptions } from './flap-damper.js';
import { TABLE_COUNTERS, TableCtr, Learn } from './counters.js';
import { MacEv, type MacJournal } from './mac-journal.js';

export const TICKS_PER_SECOND = 100;
/** Ticks of a timestamp (seconds + nanoseconds), wrapping into int32. */
export function ticksOf(sec: number, nsec = 0): number {
  return (Math.floor(sec) * TICKS_PER_SECOND + Math.floor(nsec / 1e7)) | 0;
}
/** Place (meta bits) of a local port / a remote VTEP index. */
export const localPlace = (port: number): number => (port & OUT_MASK) | MacFlag.LOCAL;
export const remotePlace = (remote: number): number => (remote & OUT_MASK) | MacFlag.REMOTE;

export const FULL_POLICIES = ['stop', 'evict-oldest'] as const;
export type FullPolicy = (typeof FULL_POLICIES)[number];

export interface MacTableOptions {
  /** Most entries the table holds (the global limit). */
  capacity: number;
  /**
   * Slots are sized so the load never exceeds this (default 0.6: 27 B/entry). At
   * 0.75 (22 B/entry) probes were longer and their length less predictable (branch
   * misses): 1 M entries, skewed lookups 21.6 -> 30.1 M/CPU-s, uniform 7.6 -> 8.8.
   */
  maxLoad?: number;
  full?: FullPolicy;
  /** Most learned entries per local port / per remote VTEP; 0 = no limit. */
  perPortLimit?: number;
  perRemoteLimit?: number;
  maxPorts?: number;
  maxRemotes?: number;
  maxDomains?: number;
  /** Default ageing time of every domain, seconds (300). */
  ageingSeconds?: number;
  maxProbe?: number;
  /** Move dampening; off when absent. */
  flap?: FlapOptions;
  /** Fixed hash seed: tests only (a random seed is what resists hash flooding). */
  seed?: [number, number];
  /** Called when a flapping MAC is frozen (rare; the daemon logs it). */
  onEvent?: (e: MacFrozenEvent) => void;
}

export interface MacFrozenEvent {
  type: 'mac-frozen';
  domain: number;
  macHi: number;
  macLo: number;
  /** Place it is frozen to (meta bits: decode with OUT_MASK / MacFlag). */
  place: number;
  holdSeconds: number;
}

const NC = TABLE_COUNTERS.length;
const EVICT_SAMPLE = 32; // dynamic entries compared per eviction (sampled LRU)
const EVICT_SCAN = 1024; // most slots scanned per eviction
/** Keys whose slots are loaded together before probing (measured here: 16 beats 64 and 256). */
export const TOUCH_GROUP = 16; // a power of two (the stage masks with it)

export class MacLearner extends MacStore {
  readonly capacity: number;
  readonly full: FullPolicy;
  readonly perPortLimit: number;
  readonly perRemoteLimit: number;
  readonly maxDomains: number;
  /** Ageing time per domain, ticks. */
  readonly ageing: Int32Array;
  /** Learned (non-static) entries per local port / remote. */
  readonly portCount: Int32Array;
  readonly remoteCount: Int32Array;
  /** Counters per domain: counters[domain * TABLE_COUNTERS.length + TableCtr.x]. */
  readonly counters: Float64Array;
  /** Key of the entry removed by the last eviction (the differential test mirrors it). */
  lastEvictedHi = 0;
  lastEvictedLo = 0;
  private readonly damper: FlapDamper | null;
  private readonly onEvent: ((e: MacFrozenEvent) => void) | null;
  private evictHand = 0;
  private homes = new Int32Array(256);
  /** Sink for the touch loads of lookupMany. */
  touched = 0;
  /** Where changes (learned, moved, aged, removed) are recorded for a control plane; null = not recorded. */
  journal: MacJournal | null = null;
  /**
   * Per domain, 1: a static entry toward a remote VTEP gives way when its MAC
   * is seen on a local port (EVPN MAC mobility, RFC 7432 §15: the control
   * plane installed it and will advertise the move); 0: it is protected.
   */
  readonly remoteStaticYields: Uint8Array;

  constructor(o: MacTableOptions) {
    const maxLoad = o.maxLoad ?? 0.6;
    if (!Number.isInteger(o.capacity) || o.capacity < 1 || o.capacity > 1 << 24) {
      throw new RangeError(`MAC table capacity must be 1..16777216, got ${o.capacity}`);
    }
    if (!(maxLoad > 0 && maxLoad <= 0.95)) throw new RangeError(`maxLoad must be in (0, 0.95], got ${maxLoad}`);
    super(Math.ceil(o.capacity / maxLoad), o.maxProbe ?? 48, o.seed);
    this.capacity = o.capacity;
    this.full = o.full ?? 'stop';
    this.perPortLimit = o.perPortLimit ?? 0;
    this.perRemoteLimit = o.perRemoteLimit ?? 0;
    this.maxDomains = o.maxDomains ?? 4096;
    if (this.maxDomains < 1 || this.maxDomains > 65536) throw new RangeError('maxDomains must be 1..65536');
    const maxPorts = o.maxPorts ?? 1024;
    const maxRemotes = o.maxRemotes ?? 65536;
    if (maxPorts > OUT_MASK + 1 || maxRemotes > OUT_MASK + 1) throw new RangeError('maxPorts/maxRemotes must be <= 2^20');
    this.ageing = new Int32Array(this.maxDomains).fill(Math.round((o.ageingSeconds ?? 300) * TICKS_PER_SECOND));
    this.portCount = new Int32Array(maxPorts);
    this.remoteCount = new Int32Array(maxRemotes);
    this.counters = new Float64Array(this.maxDomains * NC);
    this.remoteStaticYields = new Uint8Array(this.maxDomains);
    this.damper = o.flap ? new FlapDamper(o.flap, TICKS_PER_SECOND) : null;
    this.onEvent = o.onEvent ?? null;
  }

  /** Bytes of all typed arrays the table owns. */
  get bytes(): number {
    return this.words.byteLength + this.ageing.byteLength + this.portCount.byteLength +
      this.remoteCount.byteLength + this.counters.byteLength + (this.damper?.bytes ?? 0);
  }

  setAgeing(domain: number, seconds: number): void {
    this.ageing[domain] = Math.round(seconds * TICKS_PER_SECOND);
  }

  counter(domain: number, name: keyof typeof TableCtr): number {
    return this.counters[domain * NC + TableCtr[name]];
  }

  /**
   * Fast path: where (domain, MAC) lives, as place bits (out | LOCAL or REMOTE,
   * plus STATIC/FROZEN), or -1 when unknown or aged.
   */
  lookup(domain: number, macHi: number, macLo: number, now: number): number {
    // The hot path, written out in full (hash, home, probe, expiry): no call layers.
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const w = this.words;
    let b = (((macHash(kh, kl, this.s0, this.s1) >>> 0) * this.scale) | 0) << 2;
    for (let d = 0; ; d++, b += 4) {
      const m = w[b + 2];
      if (w[b + 1] === kl && w[b] === kh && m !== 0) {
        return (m & MacFlag.STATIC) === 0 && ((now - w[b + 3]) | 0) >= this.ageing[domain] ? -1 : m & 0xffffff;
      }
      if (m === 0 || (m >> DIST_SHIFT) < d) return -1;
    }
  }

  /** `lookup` with the key's hash already known (`hashOf`): a batch hashes once per key. */
  lookupHashed(domain: number, macHi: number, macLo: number, h: number, now: number): number {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const w = this.words;
    let b = (((h >>> 0) * this.scale) | 0) << 2;
    for (let d = 0; ; d++, b += 4) {
      const m = w[b + 2];
      if (w[b + 1] === kl && w[b] === kh && m !== 0) {
        return (m & MacFlag.STATIC) === 0 && ((now - w[b + 3]) | 0) >= this.ageing[domain] ? -1 : m & 0xffffff;
      }
      if (m === 0 || (m >> DIST_SHIFT) < d) return -1;
    }
  }

  /**
   * Look up n keys at once: out[k] = place bits or -1. Three passes: hash all
   * keys to their home slots, load every home slot (a tight branch-free loop,
   * so the CPU keeps dozens of cache/TLB misses in flight), then probe, which
   * now hits the cache. Fused into one loop the misses are paid one by one.
   */
  lookupMany(dom: Int32Array, hi: Int32Array, lo: Int32Array, n: number, now: number, out: Int32Array): void {
    if (this.homes.length < n) this.homes = new Int32Array(n);
    const homes = this.homes;
    const w = this.words;
    const s0 = this.s0;
    const s1 = this.s1;
    const scale = this.scale;
    for (let k = 0; k < n; k++) homes[k] = (((macHash((dom[k] << 16) | hi[k], lo[k] | 0, s0, s1) >>> 0) * scale) | 0) << 2;
    const ageing = this.ageing;
    let touch = 0;
    // Groups of TOUCH_GROUP: enough misses in flight, and the lines are still in L1 when probed.
    for (let g = 0; g < n; g += TOUCH_GROUP) {
      const e = g + TOUCH_GROUP < n ? g + TOUCH_GROUP : n;
      for (let k = g; k < e; k++) touch ^= w[homes[k] + 2];
      for (let k = g; k < e; k++) {
        const dm = dom[k];
        const kh = (dm << 16) | hi[k];
        const kl = lo[k] | 0;
        let r = -1;
        for (let d = 0, b = homes[k]; ; d++, b += 4) {
          const m = w[b + 2];
          if (w[b + 1] === kl && w[b] === kh && m !== 0) {
            if ((m & MacFlag.STATIC) !== 0 || ((now - w[b + 3]) | 0) < ageing[dm]) r = m & 0xffffff;
            break;
          }
          if (m === 0 || (m >> DIST_SHIFT) < d) break;
        }
        out[k] = r;
      }
    }
    this.touched = touch;
  }

  /** Word index of a key's home slot (for `touch`). */
  homeOf(domain: number, macHi: number, macLo: number): number {
    return this.homeBase(this.hash((domain << 16) | macHi, macLo | 0));
  }

  /** The table's (seeded) hash of a key, for `lookupHashed` / `learnHashed` / `homeBase`. */
  hashOf(domain: number, macHi: number, macLo: number): number {
    return this.hash((domain << 16) | macHi, macLo | 0);
  }

  /**
   * Load the home slots homes[0..n) (from `homeOf`): a tight loop with no
   * branches on the loaded values, so their cache misses overlap and the
   * learns/lookups that follow hit the cache. Returns a word to keep the loads.
   */
  touch(homes: Int32Array, n: number): number {
    const w = this.words;
    let acc = 0;
    for (let k = 0; k < n; k++) acc ^= w[homes[k] + 2];
    return acc;
  }

  /** Learn that (domain, MAC) was seen at `place` at time `now`. Returns a `Learn` code. */
  learn(domain: number, macHi: number, macLo: number, place: number, now: number): number {
    return this.learnHashed(domain, macHi, macLo, this.hash((domain << 16) | macHi, macLo | 0), place, now);
  }

  /** `learn` with the key's hash already known (`hashOf`). */
  learnHashed(domain: number, macHi: number, macLo: number, h: number, place: number, now: number): number {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const w = this.words;
    const c = domain * NC;
    let b = this.findBase(kh, kl, h);
    if (b >= 0) {
      const m = w[b + 2];
      if ((m & MacFlag.STATIC) !== 0) {
        if ((m & PLACE_MASK) === place) return Learn.static;
        if ((m & MacFlag.REMOTE) !== 0 && (place & MacFlag.LOCAL) !== 0 && this.remoteStaticYields[domain] !== 0) return this.yieldToLocal(b, m, domain, place, now);
        this.counters[c + TableCtr['static-protected']]++;
        return Learn.static;
      }
      if (((now - w[b + 3]) | 0) >= this.ageing[domain]) {
        this.removeAt(b, c + TableCtr.aged); // dead already: learn it afresh below
        b = -1;
      } else {
        return this.seenAgain(b, m, h, kh, kl, domain, place, now);
      }
    }
    if (!this.underLimit(place, c)) return (place & MacFlag.LOCAL) !== 0 ? Learn['limit-port'] : Learn['limit-remote'];
    if (this.size >= this.capacity && !(this.full === 'evict-oldest' && this.evictOne(now))) {
      this.counters[c + TableCtr['table-full']]++;
      return Learn.full;
    }
    if (this.insertBase(kh, kl, h, place, now) < 0) {
      this.counters[c + TableCtr['probe-limit']]++;
      return Learn.full;
    }
    this.countPlace(place, 1);
    this.counters[c + TableCtr.learned]++;
    if (this.journal !== null) this.journal.record(MacEv.learned, domain, macHi, macLo, place);
    return Learn.learned;
  }

  /** A remote static entry (EVPN) becomes a dynamic local one: the MAC moved here. */
  private yieldToLocal(b: number, m: number, domain: number, place: number, now: number): number {
    const w = this.words;
    if (!this.underLimit(place, domain * NC)) return Learn['limit-port'];
    this.countPlace(place, 1);
    w[b + 2] = (m & ~(PLACE_MASK | MacFlag.STATIC | MacFlag.FROZEN)) | place;
    w[b + 3] = now;
    this.counters[domain * NC + TableCtr.moved]++;
    if (this.journal !== null) this.journal.record(MacEv.moved, domain, w[b] & 0xffff, w[b + 1], place);
    return Learn.moved;
  }

  /** A live dynamic entry seen again: refresh, move, or hold it (dampening). */
  private seenAgain(b: number, m: number, h: number, kh: number, kl: number, domain: number, place: number, now: number): number {
    const w = this.words;
    const c = domain * NC;
    const old = m & PLACE_MASK;
    if (old === place) {
      w[b + 3] = now;
      return Learn.refreshed;
    }
    if ((m & MacFlag.FROZEN) !== 0) {
      if (this.damper !== null && this.damper.heldPlace(h, kh, kl, now) !== 0) {
        this.counters[c + TableCtr['move-suppressed']]++;
        return Learn.frozen;
      }
      w[b + 2] = m &= ~MacFlag.FROZEN; // hold over: moves apply again
    }
    if (!this.underLimit(place, c)) return (place & MacFlag.LOCAL) !== 0 ? Learn['limit-port'] : Learn['limit-remote'];
    let to = place;
    let frozen = 0;
    if (this.damper !== null) {
      const first = this.damper.noteMove(h, kh, kl, old, now);
      if (first !== 0) {
        to = first;
        frozen = MacFlag.FROZEN;
      }
    }
    this.countPlace(old, -1);
    this.countPlace(to, 1);
    w[b + 2] = (m & ~PLACE_MASK) | to | frozen;
    w[b + 3] = now;
    if (frozen === 0) {
      this.counters[c + TableCtr.moved]++;
      if (this.journal !== null) this.journal.record(MacEv.moved, domain, kh & 0xffff, kl, to);
      return Learn.moved;
    }
    this.counters[c + TableCtr['move-dampened']]++;
    if (to !== old && this.journal !== null) this.journal.record(MacEv.moved, domain, kh & 0xffff, kl, to);
    this.onEvent?.({ type: 'mac-frozen', domain, macHi: kh & 0xffff, macLo: kl >>> 0, place: to, holdSeconds: this.damper!.hold / TICKS_PER_SECOND });
    return Learn.frozen;
  }

  private underLimit(place: number, c: number): boolean {
    const out = place & OUT_MASK;
    if ((place & MacFlag.LOCAL) !== 0) {
      if (this.perPortLimit === 0 || this.portCount[out] < this.perPortLimit) return true;
      this.counters[c + TableCtr['limit-port']]++;
      return false;
    }
    if (this.perRemoteLimit === 0 || this.remoteCount[out] < this.perRemoteLimit) return true;
    this.counters[c + TableCtr['limit-remote']]++;
    return false;
  }

  private countPlace(place: number, delta: number): void {
    if ((place & MacFlag.LOCAL) !== 0) this.portCount[place & OUT_MASK] += delta;
    else this.remoteCount[place & OUT_MASK] += delta;
  }

  /** Remove the entry at word index b, counting it under counter slot `ctr`. Returns entries shifted. */
  protected removeAt(b: number, ctr: number): number {
    const w = this.words;
    const m = w[b + 2];
    if ((m & MacFlag.STATIC) === 0) this.countPlace(m, -1);
    if (this.damper !== null && (m & MacFlag.FROZEN) !== 0) this.damper.forget(this.hash(w[b], w[b + 1]), w[b], w[b + 1]);
    this.counters[ctr]++;
    if (this.journal !== null) this.journal.record(ctr % NC === TableCtr.aged ? MacEv.aged : MacEv.removed, w[b] >>> 16, w[b] & 0xffff, w[b + 1], m & PLACE_MASK);
    return this.removeBase(b);
  }

  /** Evict the oldest of a sample of dynamic entries (sampled LRU, like Redis). */
  private evictOne(now: number): boolean {
    const w = this.words;
    const len = w.length;
    let b = this.evictHand;
    let best = -1;
    let bestAge = -1;
    for (let k = 0, seen = 0; k < EVICT_SCAN && seen < EVICT_SAMPLE; k++) {
      const m = w[b + 2];
      if (m !== 0 && (m & MacFlag.STATIC) === 0) {
        seen++;
        const age = (now - w[b + 3]) | 0;
        if (age > bestAge) {
          bestAge = age;
          best = b;
        }
      }
      b += 4;
      if (b >= len) b = 0;
    }
    this.evictHand = b;
    if (best < 0) return false;
    this.lastEvictedHi = w[best];
    this.lastEvictedLo = w[best + 1];
    this.removeAt(best, (w[best] >>> 16) * NC + TableCtr.evicted);
    return true;
  }

  /** Add or replace a static entry (never aged, never overwritten by learning). */
  addStatic(domain: number, macHi: number, macLo: number, place: number, now = 0): boolean {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const h = this.hash(kh, kl);
    const b = this.findBase(kh, kl, h);
    const w = this.words;
    if (b >= 0) {
      const m = w[b + 2];
      if ((m & MacFlag.STATIC) === 0) this.countPlace(m, -1);
      w[b + 2] = (m & ~(PLACE_MASK | MacFlag.FROZEN)) | place | MacFlag.STATIC;
      w[b + 3] = now;
      // Journaled when a local port is involved (EVPN advertises local statics, and withdraws a local MAC a remote static replaced).
      if (this.journal !== null && ((m | place) & MacFlag.LOCAL) !== 0 && (m & PLACE_MASK) !== place) this.journal.record(MacEv.moved, domain, macHi, kl, place);
      return true;
    }
    if (this.size >= this.capacity && !(this.full === 'evict-oldest' && this.evictOne(now))) return false;
    if (this.insertBase(kh, kl, h, place | MacFlag.STATIC, now) < 0) return false;
    if (this.journal !== null && (place & MacFlag.LOCAL) !== 0) this.journal.record(MacEv.learned, domain, macHi, kl, place);
    return true;
  }

  /**
   * Put back a learned entry handed over from another table (a reload): like
   * learning it at `stamp`, but not counted as learned and not journaled.
   */
  restore(domain: number, macHi: number, macLo: number, place: number, stamp: number): boolean {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const h = this.hash(kh, kl);
    if (this.findBase(kh, kl, h) >= 0 || this.size >= this.capacity) return false;
    if (this.insertBase(kh, kl, h, place, stamp) < 0) return false;
    this.countPlace(place, 1);
    return true;
  }

  /**
   * A frame forwarded outside the table's sight (the xdp plan's programs) was
   * seen from `place` at `stamp` ticks: the entry's age follows, when it is
   * still there and still at `place`. No journal record (nothing moved).
   */
  refresh(domain: number, macHi: number, macLo: number, place: number, stamp: number): boolean {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const b = this.findBase(kh, kl, this.hash(kh, kl));
    if (b < 0) return false;
    const w = this.words;
    if ((w[b + 2] & PLACE_MASK) !== place || ((stamp - w[b + 3]) | 0) <= 0) return false;
    w[b + 3] = stamp;
    return true;
  }

  /** Delete one entry (static or not). */
  delete(domain: number, macHi: number, macLo: number): boolean {
    const kh = (domain << 16) | macHi;
    const kl = macLo | 0;
    const b = this.findBase(kh, kl, this.hash(kh, kl));
    if (b < 0) return false;
    this.removeAt(b, domain * NC + TableCtr.flushed);
    return true;
  }
}

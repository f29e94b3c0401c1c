/**
 * Open-addressing storage of the MAC table: robin-hood linear probing over one
 * Int32Array, 4 words (16 bytes) per slot so a lookup touches one cache line:
 *
 *   word 0  keyHi  = domain << 16 | MAC bytes 0-1
 *   word 1  keyLo  = MAC bytes 2-5 (as int32)
 *   word 2  meta   = out (bits 0-19) | LOCAL | REMOTE | STATIC | FROZEN | probe distance (bits 24-29); 0 = empty
 *   word 3  stamp  = last seen, in ticks (wrapping int32, compared by signed difference)
 *
 * The home slot is a multiply-shift of the seeded hash onto `homeSlots` slots (any
 * count, not a power of two, so 1 M entries at the default load 0.6 cost 27 bytes each).
 * `maxProbe` extra slots follow the home range so probing never wraps; every entry
 * sits at most `maxProbe` slots after its home, so a failed lookup stops early
 * (robin hood: meeting an entry closer to its own home than we are to ours).
 * Deletion shifts the following cluster back by one (no tombstones, no rehash).
 */
import { macHash, randomSeed } from './mac-hash.js';

export const MacFlag = {
  LOCAL: 1 << 20,
  REMOTE: 1 << 21,
  STATIC: 1 << 22,
  FROZEN: 1 << 23,
} as const;
export const OUT_MASK = 0xfffff;
/** Bits of `meta` that say where a MAC lives (output index + local/remote). */
export const PLACE_MASK = OUT_MASK | MacFlag.LOCAL | MacFlag.REMOTE;
/** Meta bits 24-29 hold the probe distance; bits 30-31 are always 0, so `meta >> DIST_SHIFT` is it. */
export const DIST_SHIFT = 24;
const DIST_ONE = 1 << DIST_SHIFT;
const DIST_MASK = 63;
const TWO_POW_MINUS_32 = 2.3283064365386963e-10;

export class MacStore {
  /** Slot words (see the file comment). Read-only outside this class and MacTable. */
  readonly words: Int32Array;
  readonly homeSlots: number;
  readonly maxProbe: number;
  /** Entries stored. */
  size = 0;
  protected readonly s0: number;
  protected readonly s1: number;
  /** homeSlots / 2^32: maps a 32-bit hash onto [0, homeSlots) with one multiply. */
  protected readonly scale: number;

  constructor(homeSlots: number, maxProbe: number, seed?: [number, number]) {
    if (!Number.isInteger(homeSlots) || homeSlots < 1 || homeSlots > 1 << 26) {
      throw new RangeError(`MAC table slots must be 1..2^26, got ${homeSlots}`);
    }
    if (!Number.isInteger(maxProbe) || maxProbe < 1 || maxProbe > DIST_MASK) {
      throw new RangeError(`maxProbe must be 1..${DIST_MASK}, got ${maxProbe}`);
    }
    this.homeSlots = homeSlots;
    this.maxProbe = maxProbe;
    // +1: the last slot always stays empty, so every probe loop meets an empty slot.
    this.words = new Int32Array((homeSlots + maxProbe + 1) * 4);
    this.scale = homeSlots * TWO_POW_MINUS_32;
    [this.s0, this.s1] = seed ?? randomSeed();
  }

  /** The hash seed words (native code hashing the same keys needs them; a copy, so read-only). */
  get seed(): readonly [number, number] {
    return [this.s0, this.s1];
  }

  /** Total slots including the overflow run. */
  get slots(): number {
    return this.words.length >> 2;
  }

  /** The key's hash as an unsigned 32-bit number. */
  hash(keyHi: number, keyLo: number): number {
    return macHash(keyHi, keyLo, this.s0, this.s1) >>> 0;
  }

  /** Word index of a hash's home slot (h signed or unsigned: same 32 bits). */
  homeBase(h: number): number {
    // h < 2^32 and homeSlots < 2^26: the product is exact enough that the floor stays < homeSlots.
    return (((h >>> 0) * this.scale) | 0) << 2;
  }

  /** Word index of the key's slot, or -1. */
  protected findBase(kh: number, kl: number, h: number): number {
    return this.probeFrom((((h >>> 0) * this.scale) | 0) << 2, kh, kl);
  }

  /**
   * Probe from home word index b for the key: its word index, or -1. The low key
   * word (random MAC bytes) is compared first: most non-matching slots fail on it
   * and the probe-bound check is then done only for them. An empty slot has all
   * words 0, so a matching key also needs meta !== 0 (key 0,0 is a valid MAC).
   */
  protected probeFrom(b: number, kh: number, kl: number): number {
    const w = this.words;
    for (let d = 0; ; d++, b += 4) {
      const m = w[b + 2];
      if (w[b + 1] === kl && w[b] === kh && m !== 0) return b;
      if (m === 0 || (m >> DIST_SHIFT) < d) return -1; // meta bits 30-31 are always 0
    }
  }

  /**
   * Insert a key known to be absent. Returns its word index, or -1 when the
   * probe bound would be exceeded (by it or by an entry it displaces).
   */
  protected insertBase(kh: number, kl: number, h: number, meta: number, stamp: number): number {
    const w = this.words;
    const maxProbe = this.maxProbe;
    let p = ((h * this.scale) | 0) << 2;
    let d = 0;
    // Find the position: first empty slot, or first entry closer to its home than we are.
    for (;;) {
      const m = w[p + 2];
      if (m === 0 || ((m >>> DIST_SHIFT) & DIST_MASK) < d) break;
      if (++d > maxProbe) return -1;
      p += 4;
    }
    // Entries from p up to the next empty slot move one slot on: check the bound first.
    let e = p;
    for (;;) {
      const m = w[e + 2];
      if (m === 0) break;
      if (((m >>> DIST_SHIFT) & DIST_MASK) >= maxProbe) return -1;
      e += 4;
    }
    if (e + 4 >= w.length) return -1; // would use the sentinel slot
    // Move [p, e) one slot on, back to front (clusters are short: a loop beats copyWithin's call).
    for (let j = e; j > p; j -= 4) {
      w[j] = w[j - 4];
      w[j + 1] = w[j - 3];
      w[j + 2] = w[j - 2] + DIST_ONE;
      w[j + 3] = w[j - 1];
    }
    w[p] = kh;
    w[p + 1] = kl;
    w[p + 2] = meta | (d << DIST_SHIFT);
    w[p + 3] = stamp;
    this.size++;
    return p;
  }

  /**
   * Remove the entry at word index b: shift the cluster after it back by one slot.
   * Returns the number of entries moved (the ager charges them to its budget).
   */
  protected removeBase(b: number): number {
    const w = this.words;
    let j = b;
    // Each following entry away from its home moves one slot nearer it.
    for (;;) {
      const m = w[j + 6];
      if (m === 0 || (m >> DIST_SHIFT) === 0) break;
      w[j] = w[j + 4];
      w[j + 1] = w[j + 5];
      w[j + 2] = m - DIST_ONE;
      w[j + 3] = w[j + 7];
      j += 4;
    }
    w[j] = 0;
    w[j + 1] = 0;
    w[j + 2] = 0;
    w[j + 3] = 0;
    this.size--;
    return (j - b) >> 2;
  }

  /** Drop every entry (allocation-free). */
  protected clearAll(): void {
    this.words.fill(0);
    this.size = 0;
  }
}

/** Probe distance of an entry (for tests and statistics). */
export function distOf(meta: number): number {
  return (meta >>> DIST_SHIFT) & DIST_MASK;
}

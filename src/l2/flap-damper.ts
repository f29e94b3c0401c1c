/**
 * MAC move dampening: a MAC that moves more than `maxMoves` times within
 * `window` ticks is frozen to the place it had before its first move of that
 * window, for `hold` ticks (a loop or a spoofer makes a MAC flap; freezing it
 * stops the flood of moves from rewriting the table).
 *
 * State lives in a small direct-mapped cache keyed by the table's hash, not in
 * the table slots (which stay at 16 bytes): only MACs that move need a record.
 * A collision replaces the older record; that weakens dampening for the MAC
 * that lost its record (its move count restarts), never correctness of the table.
 */

const STRIDE = 6; // keyHi, keyLo, firstPlace, moves, windowStart, holdUntil
const K_HI = 0;
const K_LO = 1;
const FIRST = 2;
const MOVES = 3;
const WSTART = 4;
const HOLD = 5;

export interface FlapOptions {
  /** Moves allowed within the window; one more freezes the MAC. */
  maxMoves: number;
  /** Window, in seconds. */
  windowSeconds: number;
  /** How long a frozen MAC stays frozen, in seconds. */
  holdSeconds: number;
  /** Records kept (power of two, default 4096). */
  records?: number;
}

export class FlapDamper {
  readonly maxMoves: number;
  readonly window: number;
  readonly hold: number;
  private readonly r: Int32Array;
  private readonly mask: number;

  constructor(opts: FlapOptions, ticksPerSecond: number) {
    if (!(opts.maxMoves >= 1) || !(opts.windowSeconds > 0) || !(opts.holdSeconds > 0)) {
      throw new RangeError('flap dampening needs maxMoves >= 1, windowSeconds > 0, holdSeconds > 0');
    }
    const n = opts.records ?? 4096;
    if (n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`flap records must be a power of two, got ${n}`);
    this.maxMoves = opts.maxMoves;
    this.window = Math.round(opts.windowSeconds * ticksPerSecond);
    this.hold = Math.round(opts.holdSeconds * ticksPerSecond);
    this.r = new Int32Array(n * STRIDE);
    this.mask = n - 1;
  }

  get bytes(): number {
    return this.r.byteLength;
  }

  private base(hash: number, kh: number, kl: number, create: boolean): number {
    const b = (hash & this.mask) * STRIDE;
    const r = this.r;
    if (r[b + K_HI] === kh && r[b + K_LO] === kl && r[b + FIRST] !== 0) return b;
    return create ? b : -1;
  }

  /** Place (table meta bits) a frozen MAC is held to, or 0 when it is not held at `now`. */
  heldPlace(hash: number, kh: number, kl: number, now: number): number {
    const b = this.base(hash, kh, kl, false);
    if (b < 0) return 0;
    const r = this.r;
    if (r[b + HOLD] !== 0 && ((r[b + HOLD] - now) | 0) > 0) return r[b + FIRST];
    return 0;
  }

  /**
   * Record a move away from `oldPlace`. Returns the place to freeze to when this
   * move crossed the threshold, else 0 (apply the move normally).
   */
  noteMove(hash: number, kh: number, kl: number, oldPlace: number, now: number): number {
    const r = this.r;
    let b = this.base(hash, kh, kl, false);
    if (b < 0 || ((now - r[b + WSTART]) | 0) >= this.window || r[b + HOLD] !== 0) {
      // New window (or a hold that ended): the place before this move is the first place.
      b = this.base(hash, kh, kl, true);
      r[b + K_HI] = kh;
      r[b + K_LO] = kl;
      r[b + FIRST] = oldPlace;
      r[b + MOVES] = 0;
      r[b + WSTART] = now;
      r[b + HOLD] = 0;
    }
    if (++r[b + MOVES] <= this.maxMoves) return 0;
    r[b + HOLD] = (now + this.hold) | 0 || 1; // 0 means "not held"
    return r[b + FIRST];
  }

  /** Forget a MAC (its entry was deleted). */
  forget(hash: number, kh: number, kl: number): void {
    const b = this.base(hash, kh, kl, false);
    if (b >= 0) this.r.fill(0, b, b + STRIDE);
  }

  clear(): void {
    this.r.fill(0);
  }
}

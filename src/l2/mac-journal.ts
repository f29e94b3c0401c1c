/**
 * A bounded record of MAC table changes, for a control plane that advertises
 * what the data path learns (BGP EVPN type-2 routes) and withdraws what ages
 * out. The table writes four integers per change (a new MAC, a move, an entry
 * aged or removed) into a preallocated ring: no allocation, no callback on the
 * fast path, and a refreshed MAC (the common case) writes nothing. The daemon
 * drains the ring on its timer and turns the records into named events.
 *
 * When the ring is full, new records are counted in `lost` and dropped: the
 * reader then knows it missed changes and should re-read the whole table.
 */

export const MAC_EVENT_KINDS = ['learned', 'moved', 'aged', 'removed'] as const;
export type MacEventKind = (typeof MAC_EVENT_KINDS)[number];
export const MacEv = { learned: 0, moved: 1, aged: 2, removed: 3 } as const;

/** Words per record: kind << 16 | domain, MAC high 16 bits, MAC low 32 bits, place (meta bits: OUT_MASK / MacFlag). */
const W = 4;

export class MacJournal {
  private readonly ring: Int32Array;
  private readonly cap: number;
  private head = 0;
  private count = 0;
  /** Records dropped because the ring was full (the reader should resynchronise). */
  lost = 0;

  constructor(capacity = 8192) {
    this.cap = capacity;
    this.ring = new Int32Array(capacity * W);
  }

  get size(): number { return this.count; }
  /** Records waiting or some lost: worth draining (one check per wakeup, see Dataplane.onJournal). */
  get pending(): boolean { return this.count > 0 || this.lost > 0; }

  record(kind: number, domain: number, macHi: number, macLo: number, place: number): void {
    if (this.count === this.cap) {
      this.lost++;
      return;
    }
    const b = ((this.head + this.count) % this.cap) * W;
    const r = this.ring;
    r[b] = (kind << 16) | domain;
    r[b + 1] = macHi;
    r[b + 2] = macLo | 0;
    r[b + 3] = place;
    this.count++;
  }

  /** Hand every record to `fn`, oldest first, and empty the ring. Returns how many. */
  drain(fn: (kind: MacEventKind, domain: number, macHi: number, macLo: number, place: number) => void): number {
    const n = this.count;
    const r = this.ring;
    for (let k = 0; k < n; k++) {
      const b = ((this.head + k) % this.cap) * W;
      fn(MAC_EVENT_KINDS[r[b] >>> 16], r[b] & 0xffff, r[b + 1], r[b + 2] >>> 0, r[b + 3]);
    }
    this.head = (this.head + n) % this.cap;
    this.count = 0;
    return n;
  }
}

/**
 * A compact, sorted copy of the MAC table for `fdb show` (control path): five
 * integers per entry in one Int32Array instead of an object per entry, so a
 * reply streamed to a slow client holds 20 B per entry while it is sent, and
 * the table keeps changing meanwhile without tearing the listing.
 */
import { MacFlag, OUT_MASK } from './mac-store.js';
import type { MacEntry, MacTable } from './mac-table.js';

const W = 5; // domain, macHi, macLo, meta, stamp

export class MacSnapshot {
  private constructor(private readonly rows: Int32Array, private readonly order: Uint32Array) {}

  /** Entries of `domain` (or every domain), sorted by domain, then MAC. */
  static of(table: MacTable, domain?: number): MacSnapshot {
    const w = table.words;
    let n = 0;
    for (let b = 0; b < w.length; b += 4) if (w[b + 2] !== 0 && (domain === undefined || w[b] >>> 16 === domain)) n++;
    const rows = new Int32Array(n * W);
    let k = 0;
    for (let b = 0; b < w.length && k < n; b += 4) {
      const m = w[b + 2];
      if (m === 0 || (domain !== undefined && w[b] >>> 16 !== domain)) continue;
      const r = k * W;
      rows[r] = w[b] >>> 16;
      rows[r + 1] = w[b] & 0xffff;
      rows[r + 2] = w[b + 1];
      rows[r + 3] = m;
      rows[r + 4] = w[b + 3];
      k++;
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => {
      const x = a * W;
      const y = b * W;
      return rows[x] - rows[y] || rows[x + 1] - rows[y + 1] || (rows[x + 2] >>> 0) - (rows[y + 2] >>> 0);
    });
    return new MacSnapshot(rows, order);
  }

  get length(): number { return this.order.length; }

  /** Entry i in sorted order. */
  at(i: number): MacEntry {
    const r = this.order[i] * W;
    const rows = this.rows;
    const m = rows[r + 3];
    return {
      domain: rows[r], macHi: rows[r + 1], macLo: rows[r + 2] >>> 0, out: m & OUT_MASK,
      remote: (m & MacFlag.REMOTE) !== 0, static: (m & MacFlag.STATIC) !== 0, frozen: (m & MacFlag.FROZEN) !== 0, stamp: rows[r + 4],
    };
  }

  *[Symbol.iterator](): Iterator<MacEntry> {
    for (let i = 0; i < this.order.length; i++) yield this.at(i);
  }
}

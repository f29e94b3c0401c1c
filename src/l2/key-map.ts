/**
 * Small open-addressing map from a pair of int32 keys to a non-negative int32
 * value, for the bridge's control tables (VNI -> domain, port+VLAN -> domain,
 * domain+remote -> position). Inserts happen on the control path (and may grow
 * the table); `get` is the fast-path read: no allocation, no strings.
 */
const EMPTY = -1;

/** What a reader (the native bridge stage, which probes the arrays itself) may use of a KeyPairMap. */
export type ReadonlyKeyPairMap = Readonly<Pick<KeyPairMap, 'get' | 'entries' | 'size' | 'keys' | 'vals'>>;

export class KeyPairMap {
  private slotKeys: Int32Array; // 2 words per slot
  private slotVals: Int32Array; // EMPTY = free slot
  private mask: number;
  size = 0;

  constructor(initial = 64) {
    let n = 16;
    while (n < initial * 2) n <<= 1;
    this.slotKeys = new Int32Array(n * 2);
    this.slotVals = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
  }

  /**
   * The slot arrays, for native readers: keys 2 words per slot, vals -1 = free.
   * Read them only; a grow replaces both (compare `vals` by identity to notice).
   */
  get keys(): Int32Array {
    return this.slotKeys;
  }

  get vals(): Int32Array {
    return this.slotVals;
  }

  private static slot(a: number, b: number, mask: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0x7f4a7c15, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return (h ^ (h >>> 16)) & mask;
  }

  /** Value for (a, b), or -1. */
  get(a: number, b: number): number {
    const keys = this.slotKeys;
    const vals = this.slotVals;
    const mask = this.mask;
    for (let i = KeyPairMap.slot(a, b, mask); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === EMPTY) return -1;
      if (keys[i << 1] === a && keys[(i << 1) + 1] === b) return v;
    }
  }

  set(a: number, b: number, value: number): void {
    if (!(value >= 0 && value <= 0x7fffffff)) throw new RangeError(`KeyPairMap value must be a non-negative int32, got ${value}`);
    if ((this.size + 1) * 2 > this.slotVals.length) this.grow();
    const keys = this.slotKeys;
    const vals = this.slotVals;
    const mask = this.mask;
    for (let i = KeyPairMap.slot(a, b, mask); ; i = (i + 1) & mask) {
      if (vals[i] === EMPTY) {
        keys[i << 1] = a;
        keys[(i << 1) + 1] = b;
        vals[i] = value;
        this.size++;
        return;
      }
      if (keys[i << 1] === a && keys[(i << 1) + 1] === b) {
        vals[i] = value;
        return;
      }
    }
  }

  /**
   * Remove (a, b); true when it was there. Control path: the table is rebuilt
   * into new arrays (no tombstones in the probe loop; native readers notice
   * the new `vals` by identity and rebind).
   */
  delete(a: number, b: number): boolean {
    if (this.get(a, b) < 0) return false;
    const keep = this.entries().filter(([x, y]) => x !== a || y !== b);
    this.slotKeys = new Int32Array(this.slotKeys.length);
    this.slotVals = new Int32Array(this.slotVals.length).fill(EMPTY);
    this.size = 0;
    for (const [x, y, v] of keep) this.set(x, y, v);
    return true;
  }

  /** Every (a, b, value) (control path). */
  entries(): [number, number, number][] {
    const out: [number, number, number][] = [];
    const keys = this.slotKeys;
    const vals = this.slotVals;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== EMPTY) out.push([keys[i << 1], keys[(i << 1) + 1], vals[i]]);
    return out;
  }

  private grow(): void {
    const old = this.entries();
    const n = this.slotVals.length * 2;
    this.slotKeys = new Int32Array(n * 2);
    this.slotVals = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
    this.size = 0;
    for (const [a, b, v] of old) this.set(a, b, v);
  }
}

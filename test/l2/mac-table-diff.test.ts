/**
 * Differential test: random learn / lookup / static / delete / age / flush
 * operations run against the MAC table and against a plain Map model written
 * from the semantics (not from the table's code); every answer must agree, and
 * the slot layout must keep the robin-hood invariants throughout.
 */
import t from 'tap';
import { MacTable, localPlace, remotePlace, MacFlag, PLACE_MASK, type FullPolicy } from '../../src/l2/mac-table.js';
import { LEARN_OUTCOMES, TABLE_COUNTERS } from '../../src/l2/counters.js';
import { distOf } from '../../src/l2/mac-store.js';

interface E { place: number; isStatic: boolean; stamp: number }

/** A tiny deterministic PRNG (xorshift32) so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

class Model {
  m = new Map<string, E>();
  port = new Map<number, number>();
  remote = new Map<number, number>();
  ctr = new Map<string, number>();
  constructor(readonly cap: number, readonly perPort: number, readonly perRemote: number, readonly ageing: number[]) {}
  bump(d: number, name: string): void { const k = `${d}:${name}`; this.ctr.set(k, (this.ctr.get(k) ?? 0) + 1); }
  count(place: number, delta: number): void {
    const map = place & MacFlag.LOCAL ? this.port : this.remote;
    map.set(place & 0xfffff, (map.get(place & 0xfffff) ?? 0) + delta);
  }
  dead(d: number, e: E, now: number): boolean { return !e.isStatic && now - e.stamp >= this.ageing[d]; }
  remove(key: string, e: E, ctr: string): void {
    if (!e.isStatic) this.count(e.place, -1);
    this.m.delete(key);
    this.bump(+key.split(':')[0], ctr);
  }
  limitOk(d: number, place: number): boolean {
    if (place & MacFlag.LOCAL) {
      if (this.perPort === 0 || (this.port.get(place & 0xfffff) ?? 0) < this.perPort) return true;
      this.bump(d, 'limit-port'); return false;
    }
    if (this.perRemote === 0 || (this.remote.get(place & 0xfffff) ?? 0) < this.perRemote) return true;
    this.bump(d, 'limit-remote'); return false;
  }
  /** `evicted` is the key the table says it evicted (checked, then mirrored). */
  learn(d: number, mac: number, place: number, now: number, evicted: () => string | null): string {
    const key = `${d}:${mac}`;
    const e = this.m.get(key);
    if (e) {
      if (e.isStatic) { if (e.place !== place) this.bump(d, 'static-protected'); return 'static'; }
      if (this.dead(d, e, now)) this.remove(key, e, 'aged');
      else if (e.place === place) { e.stamp = now; return 'refreshed'; }
      else {
        if (!this.limitOk(d, place)) return place & MacFlag.LOCAL ? 'limit-port' : 'limit-remote';
        this.count(e.place, -1); this.count(place, 1);
        e.place = place; e.stamp = now; this.bump(d, 'moved'); return 'moved';
      }
    }
    if (!this.limitOk(d, place)) return place & MacFlag.LOCAL ? 'limit-port' : 'limit-remote';
    if (this.m.size >= this.cap) {
      const v = evicted();
      if (v === null) { this.bump(d, 'table-full'); return 'full'; }
      const ve = this.m.get(v);
      if (!ve || ve.isStatic) throw new Error(`table evicted ${v}, which the model has as ${JSON.stringify(ve)}`);
      this.remove(v, ve, 'evicted');
    }
    this.m.set(key, { place, isStatic: false, stamp: now });
    this.count(place, 1); this.bump(d, 'learned');
    return 'learned';
  }
  lookup(d: number, mac: number, now: number): number {
    const e = this.m.get(`${d}:${mac}`);
    if (!e || this.dead(d, e, now)) return -1;
    return e.place | (e.isStatic ? MacFlag.STATIC : 0);
  }
}

/** Every occupied slot sits `dist` slots after its home, and no entry is further from home than the bound. */
function checkLayout(tab: MacTable): string | null {
  const w = tab.words;
  let n = 0;
  for (let b = 0; b < w.length; b += 4) {
    const m = w[b + 2];
    if (m === 0) continue;
    n++;
    const home = Math.floor(tab.hash(w[b], w[b + 1]) * tab.homeSlots / 2 ** 32);
    if ((b >> 2) - home !== distOf(m)) return `slot ${b >> 2}: home ${home}, dist ${distOf(m)}`;
    if (distOf(m) > tab.maxProbe) return `slot ${b >> 2}: dist over bound`;
    if (b > 0 && w[b - 2] !== 0 && distOf(w[b - 2]) + 1 < distOf(m)) return `slot ${b >> 2}: robin-hood order broken`;
  }
  return n === tab.size ? null : `size ${tab.size} but ${n} occupied slots`;
}

function run(t: Tap.Test, name: string, seed: number, ops: number, cfg: { cap: number; full: FullPolicy; perPort: number; perRemote: number; macs: number; load?: number }): void {
  const r = rng(seed);
  const ageing = [5, 10, 30, 300];
  const tab = new MacTable({ capacity: cfg.cap, full: cfg.full, perPortLimit: cfg.perPort, perRemoteLimit: cfg.perRemote, maxLoad: cfg.load, maxPorts: 16, maxRemotes: 16, maxDomains: 4 });
  ageing.forEach((s, d) => tab.setAgeing(d, s));
  const model = new Model(cfg.cap, cfg.perPort, cfg.perRemote, ageing.map((s) => s * 100));
  // MACs: random 48-bit values, some with a shared low word to stress key comparison.
  const macs = Array.from({ length: cfg.macs }, (_, i) => (i % 7 === 0 ? (Math.floor(r() * 65536) * 2 ** 32 + 0x12345678) : Math.floor(r() * 2 ** 48)));
  const place = (): number => (r() < 0.5 ? localPlace(Math.floor(r() * 8)) : remotePlace(Math.floor(r() * 8)));
  let T = 2 ** 31 - 50_000; // ticks: crosses the int32 wrap during the run
  let mismatches = 0;
  const fail = (msg: string): void => { if (mismatches++ < 5) t.fail(`${name} seed ${seed}: ${msg}`); };
  let evictedBefore = 0;
  const manyD = new Int32Array(8), manyHi = new Int32Array(8), manyLo = new Int32Array(8), manyOut = new Int32Array(8);
  const manyMac: number[] = [];
  const evictedNow = (): number => [0, 1, 2, 3].reduce((s, d) => s + tab.counter(d, 'evicted'), 0);
  for (let i = 0; i < ops && mismatches === 0; i++) {
    T += Math.floor(r() * r() * 40);
    const now = T | 0;
    const d = Math.floor(r() * 4);
    const mac = macs[Math.floor(r() * r() * macs.length)]; // skewed: low indices are hot
    const hi = Math.floor(mac / 2 ** 32), lo = mac % 2 ** 32;
    const op = r();
    if (op < 0.5) {
      const p = place();
      evictedBefore = evictedNow();
      const got = LEARN_OUTCOMES[tab.learn(d, hi, lo, p, now)];
      const want = model.learn(d, mac, p, T, () => evictedNow() > evictedBefore ? `${tab.lastEvictedHi >>> 16}:${(tab.lastEvictedHi & 0xffff) * 2 ** 32 + (tab.lastEvictedLo >>> 0)}` : null);
      if (got !== want) fail(`op ${i} learn ${d}:${mac.toString(16)} -> ${got}, model ${want}`);
    } else if (op < 0.53) {
      // Batched lookups: 8 random keys through lookupMany, each checked against the model.
      for (let k = 0; k < 8; k++) {
        const mk = macs[Math.floor(r() * macs.length)];
        manyD[k] = Math.floor(r() * 4); manyHi[k] = Math.floor(mk / 2 ** 32); manyLo[k] = mk % 2 ** 32; manyMac[k] = mk;
      }
      tab.lookupMany(manyD, manyHi, manyLo, 8, now, manyOut);
      for (let k = 0; k < 8; k++) {
        const want = model.lookup(manyD[k], manyMac[k], T);
        if (manyOut[k] !== want) fail(`op ${i} lookupMany[${k}] ${manyD[k]}:${manyMac[k].toString(16)} -> ${manyOut[k]}, model ${want}`);
      }
    } else if (op < 0.85) {
      const got = tab.lookup(d, hi, lo, now);
      const want = model.lookup(d, mac, T);
      if (got !== want) fail(`op ${i} lookup ${d}:${mac.toString(16)} -> ${got}, model ${want}`);
    } else if (op < 0.88) {
      const p = place();
      const ok = tab.addStatic(d, hi, lo, p, now);
      const key = `${d}:${mac}`;
      const e = model.m.get(key);
      const wantOk = !!e || model.m.size < cfg.cap || cfg.full === 'evict-oldest';
      if (ok !== wantOk) fail(`op ${i} addStatic -> ${ok}, model ${wantOk}`);
      if (ok) {
        if (e && !e.isStatic) model.count(e.place, -1);
        if (!e && model.m.size >= cfg.cap) {
          const v = `${tab.lastEvictedHi >>> 16}:${(tab.lastEvictedHi & 0xffff) * 2 ** 32 + (tab.lastEvictedLo >>> 0)}`;
          model.remove(v, model.m.get(v)!, 'evicted');
        }
        model.m.set(key, { place: p, isStatic: true, stamp: T });
      }
    } else if (op < 0.93) {
      const got = tab.delete(d, hi, lo);
      const key = `${d}:${mac}`;
      const e = model.m.get(key);
      if (e) model.remove(key, e, 'flushed');
      if (got !== !!e) fail(`op ${i} delete -> ${got}, model ${!!e}`);
    } else if (op < 0.95) {
      const got = tab.ageAll(now);
      let want = 0;
      for (const [k, e] of model.m) if (model.dead(+k.split(':')[0], e, T)) { model.remove(k, e, 'aged'); want++; }
      if (got !== want) fail(`op ${i} ageAll removed ${got}, model ${want}`);
    } else if (op < 0.999) {
      // Incremental step: whatever it removed must have been dead; mirror it.
      tab.ageStep(now, 1 + Math.floor(r() * 64));
      if (i % 50 === 0 || tab.size !== model.m.size) {
        const present = new Set(tab.dump().map((e) => `${e.domain}:${e.macHi * 2 ** 32 + e.macLo}`));
        for (const [k, e] of model.m) {
          if (present.has(k)) continue;
          if (!model.dead(+k.split(':')[0], e, T)) fail(`op ${i} ageStep removed live ${k}`);
          model.remove(k, e, 'aged');
        }
        if (tab.size !== model.m.size) fail(`op ${i} size ${tab.size}, model ${model.m.size}`);
      }
    } else {
      const kind = Math.floor(r() * 4);
      const f = kind === 0 ? { domain: d } : kind === 1 ? { port: Math.floor(r() * 8) } : kind === 2 ? { remote: Math.floor(r() * 8) } : {};
      const withStatic = r() < 0.3;
      const got = tab.flush({ ...f, includeStatic: withStatic });
      let want = 0;
      for (const [k, e] of model.m) {
        const kd = +k.split(':')[0];
        if (e.isStatic && !withStatic) continue;
        if ('domain' in f && kd !== f.domain) continue;
        if ('port' in f && e.place !== localPlace(f.port!)) continue;
        if ('remote' in f && e.place !== remotePlace(f.remote!)) continue;
        model.remove(k, e, 'flushed'); want++;
      }
      if (got !== want) fail(`op ${i} flush ${JSON.stringify(f)} removed ${got}, model ${want}`);
    }
    if (i % 20011 === 0) { const bad = checkLayout(tab); if (bad) fail(`op ${i} layout: ${bad}`); }
  }
  t.equal(mismatches, 0, `${name}: ${ops} operations agree with the model`);
  t.equal(tab.size, model.m.size, `${name}: sizes agree`);
  t.equal(checkLayout(tab), null, `${name}: slot layout invariants hold`);
  for (let d = 0; d < 4; d++) {
    for (const c of TABLE_COUNTERS) {
      if (c.startsWith('move-')) continue; // dampening is off here
      const want = model.ctr.get(`${d}:${c}`) ?? 0;
      if (tab.counter(d, c) !== want) t.fail(`${name}: domain ${d} counter ${c} ${tab.counter(d, c)}, model ${want}`);
    }
  }
  // Per-output learned counts agree too (they drive the learn limits).
  for (let p = 0; p < 8; p++) {
    t.equal(tab.portCount[p], model.port.get(p) ?? 0, `${name}: port ${p} learned count`);
    t.equal(tab.remoteCount[p], model.remote.get(p) ?? 0, `${name}: remote ${p} learned count`);
  }
  void PLACE_MASK;
}

const seed = Number(process.env.L2_DIFF_SEED ?? Date.now() % 1_000_000);
t.comment(`seed ${seed} (replay with L2_DIFF_SEED=${seed})`);

t.test('roomy table, no limits reached often', async (t) => run(t, 'roomy', seed, 300_000, { cap: 20_000, full: 'stop', perPort: 0, perRemote: 0, macs: 6000 }));
t.test('full table, stop learning', async (t) => run(t, 'stop', seed + 1, 300_000, { cap: 1500, full: 'stop', perPort: 400, perRemote: 250, macs: 3000 }));
t.test('full table, evict oldest', async (t) => run(t, 'evict', seed + 2, 300_000, { cap: 1500, full: 'evict-oldest', perPort: 0, perRemote: 300, macs: 3000 }));
t.test('high load (0.95) keeps the probe bound', async (t) => run(t, 'dense', seed + 3, 300_000, { cap: 4000, full: 'stop', perPort: 0, perRemote: 0, macs: 5000, load: 0.95 }));

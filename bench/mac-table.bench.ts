/**
 * MAC table at 1 M entries, one core: lookups/s (uniform random MACs, and
 * skewed: 95 % of lookups from a hot set of 1024 MACs), learns/s (new MACs into
 * an empty table up to 1 M, and refreshes of known ones), bytes per entry (all
 * typed arrays the table owns / entries), and the longest single ageing step.
 * Query keys are generated up front into flat arrays read in order, so the
 * timed loops measure the table, not the key generator.
 */
import type { BenchFigure } from './run.js';
import { MacTable, localPlace } from '../src/l2/mac-table.js';

const N = 1_000_000;
const Q = 4_000_000;
const AGE_BUDGET = 2048; // slots per ageing step (what the bridge stage uses per batch is configurable)

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

function timeIt(fn: () => number): { ns: number; sink: number } {
  const t0 = process.hrtime.bigint();
  const sink = fn();
  return { ns: Number(process.hrtime.bigint() - t0), sink };
}

export default async function macTableBench(): Promise<BenchFigure[]> {
  const r = xorshift(12345);
  const hi = new Int32Array(N);
  const lo = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    hi[i] = r() & 0xfeff; // unicast MACs
    lo[i] = r() | 0;
  }
  const table = new MacTable({ capacity: N, ageingSeconds: 300, maxPorts: 1024 });
  const now = 1000;

  // Learns of new MACs: empty table -> 1 M entries.
  const learnNew = timeIt(() => {
    let s = 0;
    for (let i = 0; i < N; i++) s += table.learn(i & 7, hi[i], lo[i], localPlace(i & 1023), now);
    return s;
  });
  const full = table.size;

  // Query streams, generated before timing.
  const qd = new Int32Array(Q);
  const qh = new Int32Array(Q);
  const ql = new Int32Array(Q);
  const fillQueries = (hot: boolean): void => {
    for (let k = 0; k < Q; k++) {
      const i = hot && (r() % 100) < 95 ? r() % 1024 : r() % N;
      qd[k] = i & 7;
      qh[k] = hi[i];
      ql[k] = lo[i];
    }
  };
  const lookups = (): number => {
    let s = 0;
    for (let k = 0; k < Q; k++) s += table.lookup(qd[k], qh[k], ql[k], now);
    return s;
  };
  const refresh = (): number => {
    let s = 0;
    for (let k = 0; k < Q; k++) s += table.learn(qd[k], qh[k], ql[k], localPlace(k & 1023) , now);
    return s;
  };
  fillQueries(false);
  lookups(); // warm-up (JIT)
  const uni = timeIt(lookups);
  const ref = timeIt(refresh);
  let misses = 0;
  for (let k = 0; k < 1000; k++) if (table.lookup(qd[k], qh[k], ql[k] ^ 1, now) < 0) misses++;
  fillQueries(true);
  lookups();
  const skew = timeIt(lookups);

  // Ageing: every entry expired; steps of AGE_BUDGET slots until the table is empty.
  let longest = 0;
  let steps = 0;
  const later = now + 301 * 100;
  const quiet = new MacTable({ capacity: N, ageingSeconds: 300 });
  for (let i = 0; i < N; i++) quiet.learn(0, hi[i], lo[i], localPlace(1), now);
  let longestQuiet = 0;
  for (let k = 0; k < quiet.slots / AGE_BUDGET + 1; k++) {
    const t0 = process.hrtime.bigint();
    quiet.ageStep(now + 100, AGE_BUDGET); // nothing expires: a pure scan
    longestQuiet = Math.max(longestQuiet, Number(process.hrtime.bigint() - t0));
  }
  while (table.size > 0 && steps < 10_000_000) {
    const t0 = process.hrtime.bigint();
    table.ageStep(later, AGE_BUDGET);
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt > longest) longest = dt;
    steps++;
  }

  const bytesPerEntry = (quiet.bytes) / N;
  const figs: BenchFigure[] = [
    { name: 'lookups/s uniform (1M entries)', value: Q / (uni.ns / 1e9), unit: 'lookups/s', note: `${(uni.ns / Q).toFixed(1)} ns each` },
    { name: 'lookups/s skewed (95% from 1024 hot MACs)', value: Q / (skew.ns / 1e9), unit: 'lookups/s', note: `${(skew.ns / Q).toFixed(1)} ns each` },
    { name: 'learns/s new MACs (empty -> 1M)', value: N / (learnNew.ns / 1e9), unit: 'learns/s' },
    { name: 'learns/s refresh/move (1M entries, uniform)', value: Q / (ref.ns / 1e9), unit: 'learns/s' },
    { name: 'memory per entry at 1M entries', value: bytesPerEntry, unit: 'B/entry', note: `${quiet.bytes} bytes, ${quiet.slots} slots of 16 B` },
    { name: `longest ageing step, all expiring (${AGE_BUDGET} slots/step)`, value: longest / 1e6, unit: 'ms', note: `${steps} steps to empty the table` },
    { name: `longest ageing step, none expiring (${AGE_BUDGET} slots/step)`, value: longestQuiet / 1e6, unit: 'ms' },
  ];
  console.log(`  method: one thread, node ${process.version}; table capacity ${N} (load 0.75), ${full} entries in 8 domains, random 48-bit MACs (xorshift32);`);
  console.log(`  ${Q} queries per run from pre-generated flat arrays, timed with process.hrtime over the whole loop after one warm-up run;`);
  console.log(`  ageing: every step timed on its own (hrtime), longest reported. Miss check: ${misses}/1000 unknown MACs missed.`);
  for (const f of figs) console.log(`  ${f.name}: ${f.unit === 'ms' || f.unit === 'B/entry' ? f.value.toFixed(3) : (f.value / 1e6).toFixed(2) + ' M'} ${f.unit}${f.note ? ` (${f.note})` : ''}`);
  void uni.sink; void skew.sink; void ref.sink; void learnNew.sink;
  return figs;
}

/**
 * cost-meter: what always-on metering costs the data plane.
 *
 * Method: a synthetic pipeline of 5 stages over a PacketBatch of 64-byte
 * frames; each stage does the lightest real per-frame work there is (RFC 1071
 * checksum over a 20-byte header at a different offset), so the meter's share
 * is as large as it will ever be. Timed with and without `meter.stage()` per
 * stage per batch (+ countIn/countOut), alternating runs, best of 7 each, timed
 * in process CPU time (getrusage) because wall time on a shared host is noise; batch
 * sizes 32, 64 and 256, default sampling (one batch in 16 timed); one core,
 * nothing pinned. Also the bare cost of one timed stage() call (clock read + adds).
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { internetChecksum } from '../src/packet/checksum.js';
import { CostMeter } from '../src/cost/meter.js';

const STAGES = 5;
const FRAMES = 4_000_000;

function fill(size: number): PacketBatch {
  const b = new PacketBatch({ capacity: size });
  const f = new Uint8Array(64).map((_, i) => (i * 7) & 0xff);
  for (let i = 0; i < size; i++) b.append(f, 0, 64, 64, 0, 0);
  return b;
}

function stageWork(b: PacketBatch, k: number): number {
  let acc = 0;
  const n = b.count;
  for (let i = 0; i < n; i++) acc ^= internetChecksum(b.data, b.offset[i] + k * 4, 20);
  return acc;
}

function runPlain(b: PacketBatch, batches: number): number {
  let x = 0;
  for (let j = 0; j < batches; j++) for (let k = 0; k < STAGES; k++) x ^= stageWork(b, k);
  return x;
}

function runMetered(b: PacketBatch, batches: number, m: CostMeter): number {
  let x = 0;
  for (let j = 0; j < batches; j++) {
    let t = m.begin();
    for (let k = 0; k < STAGES; k++) {
      x ^= stageWork(b, k);
      t = m.stage(k, t, b.count);
    }
    m.countIn(b.count, b.count * 64);
    m.countOut(b.count, b.count * 64);
  }
  return x;
}

/** CPU milliseconds of this process (not wall: the shared 2-core host is often overloaded). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function best(fn: () => number, runs: number): number {
  let bestMs = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = cpuMs();
    fn();
    bestMs = Math.min(bestMs, cpuMs() - t0);
  }
  return bestMs;
}

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const names = Array.from({ length: STAGES }, (_, i) => `s${i}`);
  for (const size of [32, 64, 256]) {
    const b = fill(size);
    const m = new CostMeter(names); // default sampling: one batch in 16 timed
    const batches = Math.floor(FRAMES / size);
    runPlain(b, batches >> 3); // warm both paths up
    runMetered(b, batches >> 3, m);
    let plain = Infinity;
    let metered = Infinity;
    for (let r = 0; r < 7; r++) {
      plain = Math.min(plain, best(() => runPlain(b, batches), 1));
      metered = Math.min(metered, best(() => runMetered(b, batches, m), 1));
    }
    const overhead = (metered - plain) / plain;
    const nsPerFrame = (plain * 1e6) / (batches * size);
    console.log(`batch ${size}: ${STAGES} stages ${nsPerFrame.toFixed(1)} ns/frame bare, metered +${(overhead * 100).toFixed(2)}% (process CPU time, best of 7 alternating runs, ${batches * size} frames)`);
    figures.push({ name: `meter overhead, batch ${size}`, value: +(overhead * 100).toFixed(2), unit: '%', note: `${STAGES} stages of a 20-byte checksum per 64 B frame (${nsPerFrame.toFixed(1)} ns/frame bare)` });
  }
  // The meter alone, per batch (5 stages + countIn/countOut), default sampling:
  // steadier than the with/without difference above on a loaded host.
  {
    const m = new CostMeter(names);
    const n = 2_000_000;
    const ms = best(() => {
      for (let j = 0; j < n; j++) {
        let t = m.begin();
        for (let k = 0; k < STAGES; k++) t = m.stage(k, t, 64);
        m.countIn(64, 4096);
        m.countOut(64, 4096);
      }
      return 0;
    }, 5);
    const perBatch = (ms * 1e6) / n;
    console.log(`meter alone: ${perBatch.toFixed(1)} ns per batch of ${STAGES} stages = ${(perBatch / 32).toFixed(2)} ns/frame at batch 32, ${(perBatch / 64).toFixed(2)} at 64, ${(perBatch / 256).toFixed(2)} at 256`);
    figures.push({ name: 'meter cost per batch', value: +perBatch.toFixed(1), unit: 'ns', note: `${STAGES} stages + 2 counters, one batch in 16 timed, best of 5 x ${n}` });
  }
  const m = new CostMeter(['x'], { sampleEvery: 1 });
  const calls = 5_000_000;
  const ms = best(() => {
    let t = m.begin();
    for (let i = 0; i < calls; i++) t = m.stage(0, t, 64);
    return t;
  }, 3);
  console.log(`one timed stage() call: ${((ms * 1e6) / calls).toFixed(1)} ns (best of 3 x ${calls})`);
  figures.push({ name: 'timed stage() call', value: +((ms * 1e6) / calls).toFixed(1), unit: 'ns', note: 'performance.now() + 3 Float64Array adds' });
  return figures;
}

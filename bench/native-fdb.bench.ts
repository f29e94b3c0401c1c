/**
 * Bridge learn + lookup + decide in steady state (every source already known at
 * the port it comes from, every destination a known MAC on another port), one
 * core: frames/s of the TypeScript BridgeStage and of NativeBridgeStage
 * (fdbLearnLookupBatch in C), with 1 k and 1 M MACs in the table, batch 256.
 *
 * Method: one VNI domain with 16 local ports; the table (seeded, shared by both
 * stages: steady state changes nothing but stamps) is filled with N MACs, MAC m
 * on port m % 16. Frames are prebuilt into K batches of 256 (K = 16 for 1 k,
 * 512 for 1 M: 131 k frames, 262 k random table lines, beyond the caches, as
 * live traffic to 1 M stations would be) and processed round-robin; a decision
 * writes only action/outPort, so a batch can be processed again unchanged.
 * `now` is fixed per call (nothing ages) and the stage's ager is off
 * (ageSlotsPerBatch 0: the ager is the same TS code for both). Before timing,
 * both stages' decisions on every batch are checked equal. Warm-up of 200
 * batches, then 4 rounds of at least 250 ms of process CPU time
 * (process.cpuUsage: a busy shared host stretches wall time, not CPU time);
 * best round reported, wall-clock figure beside it.
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { MacTable, localPlace } from '../src/l2/mac-table.js';
import { BridgeDomains } from '../src/l2/bridge-domain.js';
import { BridgeStage } from '../src/l2/bridge-stage.js';
import { NativeBridgeStage } from '../src/l2/native-bridge-stage.js';
import { BATCH, time } from './support.js';

const PORTS = 16;
const SEED: [number, number] = [0x2545f491, 0x4f6cdd1d];
const NOW = 100_000;

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

/** ns per frame of the stage cycling through `batches`, with bench/support.ts's CPU timer. */
function timeStage(batches: PacketBatch[], stage: BridgeStage): { cpu: number; wall: number } {
  let k = 0;
  return time(() => {}, () => {
    stage.process(batches[k], NOW);
    k = k + 1 === batches.length ? 0 : k + 1;
  });
}

function setup(n: number, nBatches: number) {
  const r = xorshift(12345 + n);
  const hi = new Int32Array(n);
  const lo = new Int32Array(n);
  for (let m = 0; m < n; m++) {
    hi[m] = (r() & 0xfeff) | 0x0200; // unicast, locally administered
    lo[m] = r() | 0;
  }
  const table = new MacTable({ capacity: Math.max(n, 1024), ageingSeconds: 3600, seed: SEED, maxDomains: 16 });
  const domains = new BridgeDomains({ table });
  const dom = domains.addVniDomain(100);
  for (let p = 0; p < PORTS; p++) domains.addPort(dom, p, 0);
  domains.addRemoteIp(dom, '192.0.2.2');
  for (let m = 0; m < n; m++) table.learn(dom, hi[m], lo[m], localPlace(m % PORTS), NOW);
  const batches: PacketBatch[] = [];
  const f = new Uint8Array(64);
  f[12] = 0x08;
  for (let b = 0; b < nBatches; b++) {
    const batch = new PacketBatch({ capacity: BATCH, headroom: 64, dataRoom: 128 });
    for (let k = 0; k < BATCH; k++) {
      const s = r() % n;
      let d = r() % n;
      if (d % PORTS === s % PORTS) d = (d + 1) % n; // another port: forwarded, never a same-port drop
      f[0] = hi[d] >>> 8; f[1] = hi[d] & 255; f[2] = lo[d] >>> 24; f[3] = (lo[d] >>> 16) & 255; f[4] = (lo[d] >>> 8) & 255; f[5] = lo[d] & 255;
      f[6] = hi[s] >>> 8; f[7] = hi[s] & 255; f[8] = lo[s] >>> 24; f[9] = (lo[s] >>> 16) & 255; f[10] = (lo[s] >>> 8) & 255; f[11] = lo[s] & 255;
      batch.append(f, 0, 64, 64, 0, 0, s % PORTS);
    }
    batches.push(batch);
  }
  return { table, domains, batches };
}

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  console.log(`method: steady state (all sources known at their port, unicast to known MACs on other ports), batch ${BATCH}, one VNI domain`);
  console.log(`with ${PORTS} ports; prebuilt batches processed round-robin with a fixed now, ager off; decisions of both stages checked`);
  console.log('equal first; best of 4 rounds of 250 ms process CPU time after 200 warm-up batches (wall time beside it).');
  for (const [label, n, nb] of [['1k', 1000, 16], ['1M', 1_000_000, 512]] as const) {
    const { table, domains, batches } = setup(n, nb);
    const ts = new BridgeStage({ table, domains, ageSlotsPerBatch: 0 });
    const nat = new NativeBridgeStage({ table, domains, ageSlotsPerBatch: 0 });
    for (const b of batches) {
      ts.process(b, NOW);
      const a = ts.action.slice(0, BATCH);
      const o = b.outPort.slice(0, BATCH);
      nat.process(b, NOW);
      for (let k = 0; k < BATCH; k++) {
        if (a[k] !== nat.action[k] || o[k] !== b.outPort[k] || a[k] === 0) throw new Error(`bench setup: frame ${k} decided differently or dropped`);
      }
    }
    const slow0 = nat.slowFrames;
    const t = timeStage(batches, ts);
    const nt = timeStage(batches, nat);
    if (nat.slowFrames !== slow0) throw new Error('steady state sent frames to the TS path');
    const tsRate = 1e9 / t.cpu;
    const natRate = 1e9 / nt.cpu;
    console.log(`  ${label} MACs: TypeScript ${(tsRate / 1e6).toFixed(2)} M frames/s (${t.cpu.toFixed(1)} ns/frame CPU, ${t.wall.toFixed(1)} wall)` +
      `, native ${(natRate / 1e6).toFixed(2)} M frames/s (${nt.cpu.toFixed(1)} ns/frame CPU, ${nt.wall.toFixed(1)} wall), ratio ${(natRate / tsRate).toFixed(2)}x`);
    const note = `batch ${BATCH}, steady state, CPU time`;
    figures.push({ name: `bridge ts ${label} MACs`, value: tsRate, unit: 'frames/s', note });
    figures.push({ name: `bridge native ${label} MACs`, value: natRate, unit: 'frames/s', note });
    figures.push({ name: `bridge native/ts ${label} MACs`, value: natRate / tsRate, unit: 'x', note });
  }
  return figures;
}

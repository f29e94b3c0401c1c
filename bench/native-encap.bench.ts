/**
 * Encap in TypeScript (EncapStage) vs in C (NativeEncapStage, one N-API call
 * per batch): frames/s for VXLAN, GENEVE (one 8-byte option) and NVGRE over
 * IPv4, plus VXLAN over IPv6 (whose outer UDP checksum sums the whole inner
 * frame), 64- and 1400-byte inner frames.
 *
 * Method (as bench/tunnel.bench.ts): one batch of 256 frames of many distinct
 * flows built once; each iteration restores the metadata the stage moved
 * (offset/length/wireLength/outPort, drop cleared) and runs the stage. The
 * restore is timed alone the same way and subtracted. Warm-up of 200
 * iterations, then 4 rounds of 250 ms of process CPU time; best round reported
 * (wall-clock figure beside it). Before timing, both stages run once on equal
 * batches and must leave byte-identical slabs.
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { EncapStage } from '../src/tunnel/encap.js';
import { NativeEncapStage } from '../src/tunnel/native-encap.js';
import { BATCH, Snapshot, TUNNEL_CASES, benchEncapConfig as cfg, fill, time } from './support.js';

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const cases = TUNNEL_CASES;
  const b = new PacketBatch({ capacity: BATCH, headroom: 128, dataRoom: 2048 });
  const check = new PacketBatch({ capacity: BATCH, headroom: 128, dataRoom: 2048 });
  console.log(`method: batch of ${BATCH} in-memory frames, one core; per iteration the moved metadata is restored (restore timed alone and`);
  console.log('subtracted); best of 4 rounds of 250 ms process CPU time after 200 warm-up iterations; many distinct inner flows.');
  console.log('native = NativeEncapStage.process: one N-API call per batch (BatchView lookup and counter drain included).');
  for (const size of [64, 1400]) {
    fill(b, size);
    const base = new Snapshot(b);
    const restoreNs = time(() => base.restore(), () => {}).cpu;
    for (const [type, v6] of cases) {
      const label = `${type}${v6 ? '-ip6' : ''} ${size}B`;
      const ts = new EncapStage(cfg(type, v6));
      const nat = new NativeEncapStage(cfg(type, v6));
      // Same bytes out of both before any timing (fresh stages: the IPv4 ids agree; zeroed
      // slabs: earlier cases left other headers in the headroom).
      b.data.fill(0);
      check.data.fill(0);
      fill(b, size);
      fill(check, size);
      new EncapStage(cfg(type, v6)).process(check);
      new NativeEncapStage(cfg(type, v6)).process(b);
      if (Buffer.compare(b.data, check.data) !== 0) throw new Error(`${label}: native and TypeScript encap differ`);
      fill(b, size);
      const pre = new Snapshot(b);
      const tsT = time(() => pre.restore(), () => ts.process(b));
      const natT = time(() => pre.restore(), () => nat.process(b));
      if (ts.counters.totalDrops() !== 0 || nat.counters.totalDrops() !== 0) throw new Error(`${label}: encap dropped frames`);
      const tsNs = tsT.cpu - restoreNs;
      const natNs = natT.cpu - restoreNs;
      const ratio = tsNs / natNs;
      const line = (stage: string, ns: number, wall: number) => {
        const mfps = 1000 / ns;
        console.log(`  ${stage.padEnd(6)} ${label.padEnd(16)} ${ns.toFixed(1).padStart(7)} ns/frame  ${mfps.toFixed(2).padStart(6)} Mframes/s   (wall ${wall.toFixed(1)} ns)`);
        figures.push({ name: `encap ${stage} ${label}`, value: Math.round(mfps * 100) / 100, unit: 'Mframes/s', note: `${ns.toFixed(1)} ns/frame CPU, ${wall.toFixed(1)} ns/frame wall` });
      };
      line('ts', tsNs, tsT.wall - restoreNs);
      line('native', natNs, natT.wall - restoreNs);
      console.log(`  ${'ratio'.padEnd(6)} ${label.padEnd(16)} native ${ratio.toFixed(2)}x TypeScript`);
      figures.push({ name: `encap native/ts ${label}`, value: Math.round(ratio * 100) / 100, unit: 'x' });
    }
    console.log(`  (restore of ${BATCH} slots: ${restoreNs.toFixed(2)} ns/frame, subtracted)`);
  }
  return figures;
}

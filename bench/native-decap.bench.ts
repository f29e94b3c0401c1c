/**
 * Decap in C (NativeDecapStage) against decap in TypeScript (DecapStage):
 * frames/s for VXLAN, GENEVE (one 8-byte option) and NVGRE over IPv4, plus
 * VXLAN over IPv6, 64- and 1400-byte inner frames, default decap config.
 *
 * Method (bench/tunnel.bench.ts's): one batch of 256 frames encapsulated once
 * by EncapStage; each iteration restores the metadata decap moves
 * (offset/length/wireLength/outPort, drop cleared) and runs the stage over the
 * batch. The restore is timed alone and subtracted. Warm-up 200 iterations,
 * then 4 rounds of 250 ms process CPU time; best round reported, best wall
 * time beside it. The native figure includes the N-API call (one per batch).
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { EncapStage } from '../src/tunnel/encap.js';
import { DecapStage } from '../src/tunnel/decap.js';
import { NativeDecapStage } from '../src/tunnel/native-decap.js';
import { BATCH, Snapshot, TUNNEL_CASES, benchEncapConfig as cfg, fill, time } from './support.js';

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const cases = TUNNEL_CASES;
  const b = new PacketBatch({ capacity: BATCH, headroom: 128, dataRoom: 2048 });
  console.log(`method: batch of ${BATCH} frames encapsulated once; per iteration decap's moved metadata is restored (timed alone,`);
  console.log('subtracted); best of 4 rounds of 250 ms process CPU time after 200 warm-up iterations; native includes its N-API call.');
  for (const size of [64, 1400]) {
    fill(b, size);
    const first = new Snapshot(b);
    const restoreNs = time(() => first.restore(), () => {}).cpu;
    for (const [type, v6] of cases) {
      const label = `${type}${v6 ? '-ip6' : ''} ${size}B`;
      fill(b, size);
      const enc = new EncapStage(cfg(type, v6));
      enc.process(b);
      if (enc.counters.totalDrops() !== 0) throw new Error(`${label}: encap dropped frames`);
      const post = new Snapshot(b);
      const ts = new DecapStage();
      const native = new NativeDecapStage();
      const tsT = time(() => post.restore(), () => ts.process(b));
      const natT = time(() => post.restore(), () => native.process(b));
      for (const st of [ts, native]) if (st.counters.totalDrops() !== 0) throw new Error(`${label}: decap dropped frames`);
      if (native.counters.outFrames !== native.counters.inFrames) throw new Error(`${label}: native decap lost frames`);
      const tsNs = tsT.cpu - restoreNs;
      const natNs = natT.cpu - restoreNs;
      const ratio = tsNs / natNs;
      const row = (who: string, ns: number, wall: number) =>
        `${ns.toFixed(1).padStart(7)} ns/frame ${(1000 / ns).toFixed(2).padStart(6)} Mframes/s ${who} (wall ${wall.toFixed(1)})`;
      console.log(`  decap ${label.padEnd(14)} ${row('ts', tsNs, tsT.wall - restoreNs)}  ${row('native', natNs, natT.wall - restoreNs)}  native ${ratio.toFixed(2)}x`);
      const fig = (name: string, ns: number, wall: number) =>
        figures.push({ name, value: Math.round((1000 / ns) * 100) / 100, unit: 'Mframes/s', note: `${ns.toFixed(1)} ns/frame CPU, ${wall.toFixed(1)} ns/frame wall` });
      fig(`decap ts ${label}`, tsNs, tsT.wall - restoreNs);
      fig(`decap native ${label}`, natNs, natT.wall - restoreNs);
      figures.push({ name: `decap native/ts ${label}`, value: Math.round(ratio * 100) / 100, unit: 'x', note: 'TS ns/frame over native ns/frame' });
    }
    console.log(`  (restore of ${BATCH} slots: ${restoreNs.toFixed(2)} ns/frame, subtracted)`);
  }
  return figures;
}

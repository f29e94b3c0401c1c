/**
 * Tunnel stages, one core, in-memory batches: encap and decap frames/s for
 * VXLAN, GENEVE (one 8-byte option) and NVGRE, IPv4 outer (plus VXLAN IPv6
 * outer, whose UDP checksum must be computed), 64- and 1400-byte inner frames.
 *
 * Method: one batch of 256 frames built once; each iteration restores the
 * batch metadata the stage moved (offset/length/wireLength/drop/outPort:
 * four typed-array copies) and runs the stage over the batch. The restore is
 * timed alone in the same way and subtracted, so the figure is the stage only.
 * Warm-up of 200 iterations, then 4 rounds of 250 ms of process CPU time
 * (process.cpuUsage: a busy shared host stretches wall time, not CPU time);
 * best round reported, with its wall-clock figure beside it.
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { EncapStage } from '../src/tunnel/encap.js';
import { DecapStage } from '../src/tunnel/decap.js';
import { BATCH, Snapshot, TUNNEL_CASES, benchEncapConfig as cfg, fill, time } from './support.js';

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const cases = TUNNEL_CASES;
  const b = new PacketBatch({ capacity: BATCH, headroom: 128, dataRoom: 2048 });
  console.log(`method: batch of ${BATCH} in-memory frames, one core (node main thread); per iteration the moved metadata is restored`);
  console.log('(restore timed alone and subtracted); best of 4 rounds of 250 ms process CPU time (process.cpuUsage, so other load on');
  console.log('the shared host does not inflate it; best wall time shown too) after 200 warm-up iterations; many distinct inner flows.');
  for (const size of [64, 1400]) {
    fill(b, size);
    const base = new Snapshot(b);
    const restoreNs = time(() => base.restore(), () => {}).cpu;
    for (const [type, v6] of cases) {
      const label = `${type}${v6 ? '-ip6' : ''} ${size}B`;
      const enc = new EncapStage(cfg(type, v6));
      const dec = new DecapStage();
      fill(b, size);
      const pre = new Snapshot(b);
      const encT = time(() => pre.restore(), () => enc.process(b));
      const encNs = encT.cpu - restoreNs;
      // Decap input: the batch as encap left it.
      pre.restore();
      enc.process(b);
      if (enc.counters.totalDrops() !== 0) throw new Error(`${label}: encap dropped frames`);
      const post = new Snapshot(b);
      const decT = time(() => post.restore(), () => dec.process(b));
      const decNs = decT.cpu - restoreNs;
      if (dec.counters.totalDrops() !== 0) throw new Error(`${label}: decap dropped frames`);
      const line = (stage: string, ns: number, wall: number) => {
        const mfps = 1000 / ns;
        console.log(`  ${stage} ${label.padEnd(16)} ${ns.toFixed(1).padStart(7)} ns/frame  ${mfps.toFixed(2).padStart(6)} Mframes/s   (wall ${wall.toFixed(1)} ns)`);
        figures.push({ name: `${stage} ${label}`, value: Math.round(mfps * 100) / 100, unit: 'Mframes/s', note: `${ns.toFixed(1)} ns/frame CPU, ${wall.toFixed(1)} ns/frame wall` });
      };
      line('encap', encNs, encT.wall - restoreNs);
      line('decap', decNs, decT.wall - restoreNs);
    }
    console.log(`  (restore of ${BATCH} slots: ${restoreNs.toFixed(2)} ns/frame, subtracted)`);
  }
  return figures;
}

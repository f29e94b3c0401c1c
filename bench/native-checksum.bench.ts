/**
 * Outer checksums, TypeScript vs C (checksumBatch): VXLAN over IPv4 and IPv6,
 * 64- and 1400-byte inner frames.
 *
 * TypeScript's UDP checksum is measured where it lives: EncapStage with
 * udpCsum on minus EncapStage with it off (same batch, same remotes), so the
 * figure is what the encap loop pays for the checksum (sumWords over the inner
 * frame plus the fold). The C side is checksumBatch on the encapsulated batch
 * (UDP only, to compare like with like, and IPv4 header + UDP), one N-API call
 * per batch; it zeroes and rewrites the fields, so it runs on the same batch
 * again and again without a restore. Last line of each case: encap without
 * the checksum followed by checksumBatch, the `checksum: native` pipeline.
 *
 * Method as bench/tunnel.bench.ts: batch of 256 in-memory frames, one core;
 * per encap iteration the moved metadata is restored (restore timed alone and
 * subtracted); 200 warm-up iterations, then the best of 4 rounds of 250 ms of
 * process CPU time (process.cpuUsage), best wall time shown beside it.
 */
import type { BenchFigure } from './run.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { EncapStage } from '../src/tunnel/encap.js';
import { NativeChecksumStage } from '../src/tunnel/native-checksum.js';
import type { EncapConfig } from '../src/tunnel/tunnel-config.js';
import { BATCH, Snapshot, fill, time } from './support.js';

function cfg(v6: boolean, udpCsum: boolean): EncapConfig {
  return {
    type: 'vxlan', vni: 4242, mtu: 9000,
    local: v6 ? '2001:db8::1' : '192.0.2.1',
    remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }],
    udpCsum, zeroCsum6Tx: v6 && !udpCsum,
  };
}

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const b = new PacketBatch({ capacity: BATCH, headroom: 128, dataRoom: 2048 });
  const noop = () => {};
  console.log(`method: batch of ${BATCH} in-memory frames, VXLAN, one core; TS UDP checksum = EncapStage(udpCsum on) - EncapStage(off);`);
  console.log('C = checksumBatch on the encapsulated batch (one N-API call per batch); best of 4 rounds of 250 ms process CPU');
  console.log('after 200 warm-up iterations (encap: metadata restore timed alone and subtracted).');
  const udpOnly = new NativeChecksumStage({ ip4: false });
  const both = new NativeChecksumStage();
  for (const size of [64, 1400]) {
    fill(b, size, true);
    const base = new Snapshot(b);
    const restoreNs = time(() => base.restore(), noop).cpu;
    for (const v6 of [false, true]) {
      const label = `vxlan-ip${v6 ? 6 : 4} ${size}B`;
      const on = new EncapStage(cfg(v6, true));
      const off = new EncapStage(cfg(v6, false));
      const tOn = time(() => base.restore(), () => on.process(b));
      const tOff = time(() => base.restore(), () => off.process(b));
      base.restore();
      off.process(b);
      if (off.counters.totalDrops() !== 0) throw new Error(`${label}: encap dropped frames`);
      const tC = time(noop, () => udpOnly.process(b));
      const tC2 = v6 ? null : time(noop, () => both.process(b));
      if (udpOnly.counters.bad !== 0 || both.counters.bad !== 0) throw new Error(`${label}: checksumBatch refused frames`);
      const tPipe = time(() => base.restore(), () => { off.process(b); udpOnly.process(b); });
      const rows: [string, number, number][] = [
        ['TS encap, UDP checksum on', tOn.cpu - restoreNs, tOn.wall - restoreNs],
        ['TS encap, UDP checksum off', tOff.cpu - restoreNs, tOff.wall - restoreNs],
        ['TS UDP checksum alone (on - off)', tOn.cpu - tOff.cpu, tOn.wall - tOff.wall],
        ['C checksumBatch, UDP', tC.cpu, tC.wall],
        ...(tC2 ? [['C checksumBatch, IPv4 header + UDP', tC2.cpu, tC2.wall] as [string, number, number]] : []),
        ['TS encap (off) + C checksumBatch', tPipe.cpu - restoreNs, tPipe.wall - restoreNs],
      ];
      for (const [what, ns, wall] of rows) {
        const mfps = 1000 / ns;
        console.log(`  ${what.padEnd(36)} ${label.padEnd(15)} ${ns.toFixed(1).padStart(7)} ns/frame  ${mfps.toFixed(2).padStart(7)} Mframes/s   (wall ${wall.toFixed(1)} ns)`);
        figures.push({ name: `${what} ${label}`, value: Math.round(mfps * 100) / 100, unit: 'Mframes/s', note: `${ns.toFixed(1)} ns/frame CPU, ${wall.toFixed(1)} ns/frame wall` });
      }
    }
    console.log(`  (restore of ${BATCH} slots: ${restoreNs.toFixed(2)} ns/frame, subtracted from the encap rows)`);
  }
  return figures;
}

/**
 * Replication (the copies the bridge decided on, into output batches): copies/s
 * of the TypeScript Replicator and of NativeReplicator (replicateLocal /
 * replicateRemote in C), one core, batch 256.
 *
 * Method: one VNI domain with 5 untagged local ports (0-4) and 2 remote VTEPs.
 * A BridgeStage decides once on a batch of 256 frames (sources learnt first):
 * unicast from port 0 to a MAC on port 1 (local), unicast from port 0 to a MAC
 * behind a remote (remote), or broadcast from port 0 (flood: 4 local + 2
 * remote copies a frame), 64 B and 1400 B. The Replicator does not change its
 * input, so the same decided batch is replicated again and again, driven as
 * dataplane.forward does (fillLocal until done, fillRemote until -1, the
 * 256-slot output batch cleared before each call). Before timing, both
 * replicators' outputs are checked equal. Warm-up of 200 batches, then 4 rounds
 * of at least 250 ms of process CPU time (process.cpuUsage); best round
 * reported, wall-clock figure beside it.
 */
import type { BenchFigure } from './run.js';
import { PacketBatch, PacketFlag } from '../src/batch/packet-batch.js';
import { MacTable } from '../src/l2/mac-table.js';
import { BridgeDomains, parseAddrWords } from '../src/l2/bridge-domain.js';
import { BridgeStage } from '../src/l2/bridge-stage.js';
import { Replicator } from '../src/l2/replicate.js';
import { NativeReplicator } from '../src/l2/native-replicate.js';

const BATCH = 256;
const SEED: [number, number] = [0x2545f491, 0x4f6cdd1d];
const NOW = 100_000;
const REMOTES = ['192.0.2.2', '192.0.2.3'];

function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function mac(buf: Uint8Array, at: number, m: number): void {
  buf.set([0x02, 0, 0, 0, (m >> 8) & 0xff, m & 0xff], at);
}

type Kind = 'local' | 'remote' | 'flood';

function setup(kind: Kind, size: number) {
  const table = new MacTable({ capacity: 4096, seed: SEED, maxDomains: 4 });
  const domains = new BridgeDomains({ table });
  const dom = domains.addVniDomain(100);
  for (let p = 0; p < 5; p++) domains.addPort(dom, p, 0);
  for (const ip of REMOTES) domains.addRemoteIp(dom, ip);
  const stage = new BridgeStage({ table, domains, ageSlotsPerBatch: 0 });
  const f = new Uint8Array(size);
  f[12] = 0x08;
  // Learn: MAC 1 on port 1, MAC 2 behind remote 0, MAC 3 (the sender) on port 0.
  const learn = new PacketBatch({ capacity: 4, dataRoom: 2048 });
  f.fill(0xff, 0, 6);
  mac(f, 6, 1);
  learn.append(f, 0, 64, 64, 0, 0, 1);
  mac(f, 6, 2);
  const j = learn.append(f, 0, 64, 64, 0, 0, 0);
  learn.flags[j] = PacketFlag.DECAPPED;
  learn.vni[j] = 100;
  learn.remoteAddr[j << 2] = parseAddrWords(REMOTES[0])[0];
  stage.process(learn, NOW);
  const b = new PacketBatch({ capacity: BATCH, dataRoom: 2048 });
  mac(f, 6, 3);
  if (kind === 'flood') f.fill(0xff, 0, 6);
  else mac(f, 0, kind === 'local' ? 1 : 2);
  for (let k = 0; k < BATCH; k++) b.append(f, 0, size, size, 1, k, 0);
  stage.process(b, NOW);
  return { stage, b };
}

function drive(rep: Replicator, b: PacketBatch, lo: PacketBatch, ro: PacketBatch): number {
  let copies = 0;
  rep.start(b);
  for (;;) {
    lo.clear();
    const done = rep.fillLocal(lo);
    copies += lo.count;
    if (done) break;
  }
  for (;;) {
    ro.clear();
    const dom = rep.fillRemote(ro);
    copies += ro.count;
    if (dom < 0) break;
  }
  return copies;
}

/** ns per copy, best of 4 rounds of >= 250 ms CPU time. */
function time(rep: Replicator, b: PacketBatch, lo: PacketBatch, ro: PacketBatch): { cpu: number; wall: number } {
  for (let j = 0; j < 200; j++) drive(rep, b, lo, ro);
  let best = Infinity;
  let bestWall = Infinity;
  for (let round = 0; round < 4; round++) {
    let copies = 0;
    const w0 = process.hrtime.bigint();
    const c0 = cpuNow();
    let c1 = c0;
    while (c1 - c0 < 250_000) {
      for (let j = 0; j < 32; j++) copies += drive(rep, b, lo, ro);
      c1 = cpuNow();
    }
    bestWall = Math.min(bestWall, Number(process.hrtime.bigint() - w0) / copies);
    best = Math.min(best, ((c1 - c0) * 1000) / copies);
  }
  return { cpu: best, wall: bestWall };
}

function equalOut(a: PacketBatch, b: PacketBatch): boolean {
  if (a.count !== b.count) return false;
  for (let j = 0; j < a.count; j++) {
    if (a.length[j] !== b.length[j] || a.outPort[j] !== b.outPort[j] || a.vni[j] !== b.vni[j] || a.flags[j] !== b.flags[j]) return false;
    const x = a.frame(j);
    const y = b.frame(j);
    for (let q = 0; q < x.length; q++) if (x[q] !== y[q]) return false;
  }
  return true;
}

export default async function (): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  console.log(`method: one VNI domain, 5 untagged ports + 2 remotes; one batch of ${BATCH} decided frames (unicast local, unicast remote, or`);
  console.log('broadcast = 4 local + 2 remote copies) replicated again and again as dataplane.forward drives it (output batches of 256,');
  console.log('cleared before each call); outputs checked equal first; best of 4 rounds of 250 ms process CPU time, wall time beside it.');
  for (const kind of ['local', 'remote', 'flood'] as const) {
    for (const size of [64, 1400]) {
      const { stage, b } = setup(kind, size);
      const ts = new Replicator(stage);
      const nat = new NativeReplicator(stage);
      const mk = () => new PacketBatch({ capacity: BATCH, dataRoom: 2048 });
      const [loT, roT, loN, roN] = [mk(), mk(), mk(), mk()];
      // Same output on one pass (the last local and remote batches of each).
      const ct = drive(ts, b, loT, roT);
      const cn = drive(nat, b, loN, roN);
      const per = kind === 'flood' ? 6 : 1;
      if (ct !== BATCH * per || cn !== ct || !equalOut(loT, loN) || ts.lost !== 0 || nat.lost !== 0) {
        throw new Error(`bench setup ${kind} ${size} B: ${ct} TS copies, ${cn} native copies, outputs or lost differ`);
      }
      ts.start(b);
      nat.start(b);
      loT.clear(); loN.clear();
      ts.fillLocal(loT); nat.fillLocal(loN);
      roT.clear(); roN.clear();
      ts.fillRemote(roT); nat.fillRemote(roN);
      if (!equalOut(roT, roN) || !equalOut(loT, loN)) throw new Error(`bench setup ${kind} ${size} B: outputs differ`);
      const t = time(ts, b, loT, roT);
      const n = time(nat, b, loN, roN);
      const tsRate = 1e9 / t.cpu;
      const natRate = 1e9 / n.cpu;
      const label = `${kind} ${size} B`;
      console.log(`  ${label.padEnd(14)}: TypeScript ${(tsRate / 1e6).toFixed(2)} M copies/s (${t.cpu.toFixed(1)} ns/copy CPU, ${t.wall.toFixed(1)} wall)` +
        `, native ${(natRate / 1e6).toFixed(2)} M copies/s (${n.cpu.toFixed(1)} ns/copy CPU, ${n.wall.toFixed(1)} wall), ratio ${(natRate / tsRate).toFixed(2)}x`);
      const note = `batch ${BATCH}, ${kind === 'flood' ? 'broadcast: 4 local + 2 remote copies a frame' : `unicast ${kind}`}, CPU time`;
      figures.push({ name: `replicate ts ${label}`, value: tsRate, unit: 'copies/s', note });
      figures.push({ name: `replicate native ${label}`, value: natRate, unit: 'copies/s', note });
      figures.push({ name: `replicate native/ts ${label}`, value: natRate / tsRate, unit: 'x', note });
    }
  }
  return figures;
}

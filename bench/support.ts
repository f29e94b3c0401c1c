/** Helpers shared by the benchmarks (not a benchmark itself: no `.bench` in the name). */
import { openCapture } from '../src/capture/index.js';
import type { PacketBatch } from '../src/batch/packet-batch.js';
import type { EncapConfig, TunnelType } from '../src/tunnel/tunnel-config.js';

/** Read every record of a capture with `next()` and nothing else (default 1 MiB chunk, as `vtepd dissect` reads). */
export function readAllRecords(path: string): { records: number; bytes: number } {
  const r = openCapture(path);
  let records = 0;
  let bytes = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    bytes += rec.caplen;
    records++;
  }
  r.close();
  return { records, bytes };
}

/** Frames per batch of the in-memory stage benchmarks (tunnel, native-encap/decap/checksum). */
export const BATCH = 256;

/** Inner Ethernet/IPv4/UDP frame k of `size` bytes: a distinct flow per k, so the flow hash has work to do. */
export function innerFrame(size: number, k: number, payload = false): Uint8Array {
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, (size - 14) >> 8, (size - 14) & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, (k >> 8) & 0xff, k & 0xff], 14);
  f.set([(1000 + k) >> 8, (1000 + k) & 0xff, 0, 80], 34);
  if (payload) for (let i = 38; i < size; i++) f[i] = (i * 7 + k) & 0xff;
  return f;
}

/** Refill `b` with BATCH inner frames of `size` bytes. */
export function fill(b: PacketBatch, size: number, payload = false): void {
  b.clear();
  for (let k = 0; k < BATCH; k++) {
    const f = innerFrame(size, k, payload);
    b.append(f, 0, f.length, f.length, 0, 0);
  }
}

/** The metadata a tunnel stage moves, saved once and put back before each timed iteration. */
export class Snapshot {
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly wire: Uint32Array;
  readonly outPort: Int32Array;
  constructor(readonly b: PacketBatch) {
    this.offset = b.offset.slice();
    this.length = b.length.slice();
    this.wire = b.wireLength.slice();
    this.outPort = b.outPort.slice();
  }
  restore(): void {
    const b = this.b;
    b.offset.set(this.offset);
    b.length.set(this.length);
    b.wireLength.set(this.wire);
    b.outPort.set(this.outPort);
    b.drop.fill(0);
  }
}

/** CPU microseconds (user + system) of this process: other load on a shared host does not inflate it. */
function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * ns per frame of `run` over a batch of BATCH (with `before` run each iteration too): 200 warm-up
 * iterations, then the best of 4 rounds of ~250 ms of process CPU time, and the best wall time.
 */
export function time(before: () => void, run: () => void): { cpu: number; wall: number } {
  for (let k = 0; k < 200; k++) {
    before();
    run();
  }
  let best = Infinity;
  let bestWall = Infinity;
  for (let round = 0; round < 4; round++) {
    let iters = 0;
    const w0 = process.hrtime.bigint();
    const c0 = cpuNow();
    let c1 = c0;
    while (c1 - c0 < 250_000) {
      for (let k = 0; k < 100; k++) {
        before();
        run();
      }
      iters += 100;
      c1 = cpuNow();
    }
    bestWall = Math.min(bestWall, Number(process.hrtime.bigint() - w0) / (iters * BATCH));
    best = Math.min(best, ((c1 - c0) * 1000) / (iters * BATCH));
  }
  return { cpu: best, wall: bestWall };
}

/** The tunnel cases of the stage benchmarks: [type, IPv6 outer]. */
export const TUNNEL_CASES: readonly [TunnelType, boolean][] = [['vxlan', false], ['geneve', false], ['nvgre', false], ['vxlan', true]];

/** One remote, MTU 9000 (1400 B frames fit), GENEVE with one 8-byte option. */
export function benchEncapConfig(type: TunnelType, v6: boolean): EncapConfig {
  return {
    type,
    vni: 4242,
    local: v6 ? '2001:db8::1' : '192.0.2.1',
    remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }],
    mtu: 9000,
    geneveOptions: type === 'geneve' ? [{ optClass: 0x0102, type: 0x01, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] : undefined,
  };
}

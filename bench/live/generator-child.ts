/**
 * The generator's sending process (started by generator.ts inside a namespace
 * through `ip netns exec`): one AF_PACKET socket, sendmmsg bursts from one
 * prebuilt slab (no per-frame work in JS), optional pacing by sleeping between
 * bursts. Argument: the JSON of ChildSpec. Prints one JSON line: GeneratorResult.
 */
import { loadNative } from '../../src/native/addon.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';

export interface ChildSpec {
  interface: string;
  size: number;
  seconds: number;
  count: number;
  rate: number;
  dst: number[];
  src: number[];
  etherType: number;
  burst: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const sock = new (loadNative().AfPacket)({ interface: spec.interface, qdiscBypass: true, sndbuf: 4 << 20, txWaitMs: 1, blockSize: 4096, blockCount: 1, frameSize: 2048, promiscuous: false });
const N = spec.burst;
const slot = (spec.size + 63) & ~63;
const pb = new PacketBatch({ capacity: N, headroom: 0, dataRoom: slot });
pb.count = N;
const { data, offset: off, length: len } = pb;
const view = nativeBatchView(pb);
for (let i = 0; i < N; i++) {
  off[i] = i * pb.slotSize;
  len[i] = spec.size;
  data.set([...spec.dst, ...spec.src, spec.etherType >> 8, spec.etherType & 0xff], off[i]);
  data[off[i] + 14] = i & 0xff; // distinct payloads, nothing else varies
}
const nap = new Int32Array(new SharedArrayBuffer(4));
const limit = spec.count > 0 ? spec.count : Number.MAX_SAFE_INTEGER;
let sent = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const end = spec.seconds > 0 ? t0 + BigInt(Math.round(spec.seconds * 1e9)) : BigInt(Number.MAX_SAFE_INTEGER) * 1000n;
for (;;) {
  const now = process.hrtime.bigint();
  if (now >= end || sent >= limit) break;
  if (spec.rate > 0) {
    // Ahead of the schedule: sleep until the frames sent so far are due.
    const dueNs = (sent / spec.rate) * 1e9 - Number(now - t0);
    if (dueNs > 50_000) Atomics.wait(nap, 0, 0, dueNs / 1e6);
  }
  sent += sock.txBurst(view, 0, Math.min(N, limit - sent));
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(JSON.stringify({ sent, seconds, rate: sent / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');

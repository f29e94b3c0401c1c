/**
 * The AF_PACKET port benchmark's sending process (`ip netns exec NS node
 * ports-sender.js JSON`): one AfPacketPort, one prebuilt batch of `burst` frames
 * sent again and again with transmit() for `seconds`. Prints one JSON line:
 * frames sent, wall seconds, the process's CPU seconds, send syscalls, frames
 * refused / not sent for a full ring.
 */
import { PacketBatch } from '../src/batch/packet-batch.js';
import { AfPacketPort } from '../src/ports/af-packet-port.js';
import { PortDrop } from '../src/ports/counters.js';

export interface SenderSpec { interface: string; size: number; seconds: number; burst: number; txRing: boolean; qdiscBypass: boolean }
export interface SenderResult { sent: number; secs: number; cpu: number; syscalls: number; full: number; refused: number }

const spec = JSON.parse(process.argv[2] ?? '{}') as SenderSpec;
const port = new AfPacketPort({
  interface: spec.interface, txRing: spec.txRing, qdiscBypass: spec.qdiscBypass, sndbuf: 4 << 20, txWaitMs: 1,
  blockSize: 4096, blockCount: 1, frameSize: 2048, promiscuous: false,
});
const b = new PacketBatch({ capacity: spec.burst, headroom: 0, dataRoom: 2048 });
const frame = new Uint8Array(spec.size);
frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5]);
for (let i = 0; i < spec.burst; i++) b.append(frame, 0, spec.size, spec.size, 0, 0);
let sent = 0;
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const end = t0 + BigInt(Math.round(spec.seconds * 1e9));
while (process.hrtime.bigint() < end) sent += port.transmit(b);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const c = process.cpuUsage(cpu0);
port.pollStats();
const r: SenderResult = {
  sent, secs, cpu: (c.user + c.system) / 1e6, syscalls: port.counters.txSyscalls,
  full: port.counters.drops[PortDrop['tx-ring-full']], refused: port.counters.drops[PortDrop['tx-error']],
};
process.stdout.write(JSON.stringify(r));
await port.close();

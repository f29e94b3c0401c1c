/**
 * AF_PACKET port receive rate on a veth pair between two namespaces.
 *
 * Method: a sender child (`ip netns exec A node -e ...`, addon used directly)
 * blasts 60-byte or 1400-byte frames for DURATION s with txBurst of 256 frames
 * (sendmmsg, qdisc bypass, 4 MiB send buffer); this process receives on the
 * other end through AfPacketPort (TPACKET_V3 ring 16 or 64 x 256 KiB, uv_poll, drain
 * with receive() into a PacketBatch of 32 or 256). Figures: offered (sent by
 * the child / its wall time), delivered (received here / the same window), ring
 * drops (PACKET_STATISTICS), receiver CPU (process.cpuUsage user+sys over the
 * window / wall time). Root only; 2 cores (one each, not pinned).
 */
import { spawn, execFileSync } from 'node:child_process';
import { AfPacketPort } from '../src/ports/af-packet-port.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { nativeAvailable } from '../src/native/addon.js';
import type { BenchFigure } from './run.js';
import { afxdpRows } from './ports-xsk.js';

const DURATION = 2;

function sh(args: string[]): void { execFileSync('ip', args, { stdio: 'ignore' }); }

function senderCode(addon: string, ifname: string, size: number, seconds: number): string {
  return `const n = require(${JSON.stringify(addon)});
const s = new n.AfPacket({ interface: ${JSON.stringify(ifname)}, qdiscBypass: true, sndbuf: 4 << 20, txWaitMs: 1, blockSize: 4096, blockCount: 1, frameSize: 2048 });
const N = 256, slot = 2048, data = new Uint8Array(N * slot), off = new Uint32Array(N), len = new Uint32Array(N), drop = new Uint8Array(N);
for (let i = 0; i < N; i++) { off[i] = i * slot; len[i] = ${size}; data.set([2,0,0,0,0,2, 2,0,0,0,0,1, 0x88,0xb5], off[i]); }
let sent = 0; const t0 = process.hrtime.bigint(); const end = t0 + BigInt(${seconds * 1e9});
while (process.hrtime.bigint() < end) sent += s.txBurst(data, off, len, drop, 0, N);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ sent, secs }));`;
}

async function runOne(addon: string, nsA: string, nsB: string, size: number, batchSize: number, blockCount = 16): Promise<{ offered: number; delivered: number; drops: number; cpu: number }> {
  const port = new AfPacketPort({ interface: 'vbB', netns: nsB, blockCount });
  const batch = new PacketBatch({ capacity: batchSize });
  let got = 0;
  port.onReadable(() => {
    for (;;) {
      batch.clear();
      const n = port.receive(batch);
      got += n;
      if (n < batchSize) break;
    }
  });
  port.pollStats(); // zero the kernel counters
  const startDrops = port.counters.kernelDrops;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const child = spawn('ip', ['netns', 'exec', nsA, process.execPath, '-e', senderCode(addon, 'vbA', size, DURATION)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 50)); // last block retires after blockTimeoutMs
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  port.pollStats();
  const drops = port.counters.kernelDrops - startDrops;
  await port.close();
  const { sent, secs } = JSON.parse(out) as { sent: number; secs: number };
  return { offered: sent / secs, delivered: got / secs, drops, cpu: (cpu.user + cpu.system) / 1e6 / wall };
}

export default async function (): Promise<BenchFigure[]> {
  if (process.getuid?.() !== 0 || !nativeAvailable()) {
    console.log('  skipped: needs root and the native addon');
    return [];
  }
  const nsA = `vtpbench${process.pid}a`;
  const nsB = `vtpbench${process.pid}b`;
  const figures: BenchFigure[] = [];
  try {
    sh(['netns', 'add', nsA]);
    sh(['netns', 'add', nsB]);
    sh(['link', 'add', 'vbA', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'vbB', 'netns', nsB]);
    for (const [ns, i] of [[nsA, 'vbA'], [nsB, 'vbB']]) {
      sh(['-n', ns, 'link', 'set', i, 'up']);
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${i}.disable_ipv6=1`]);
    }
    const addon = (await import('node:module')).createRequire(import.meta.url).resolve('../../native-bindings/build/Release/vtepd_native.node');
    console.log(`  method: sender child on ${nsA} (txBurst 256, sendmmsg, qdisc bypass) -> veth -> AfPacketPort in ${nsB}, ${DURATION} s per row`);
    console.log('  size  batch  ring MiB   offered Mpps  delivered Mpps  loss %  ring drops  rx CPU');
    const rows: Array<[number, number, number]> = [[60, 32, 16], [60, 256, 16], [1400, 32, 16], [1400, 256, 16], [1400, 256, 64]];
    for (const [size, b, blocks] of rows) {
      {
        const r = await runOne(addon, nsA, nsB, size, b, blocks);
        const loss = r.offered > 0 ? 100 * (1 - r.delivered / r.offered) : 0;
        console.log(`  ${String(size).padStart(4)}  ${String(b).padStart(5)}  ${String(blocks / 4).padStart(8)}   ${(r.offered / 1e6).toFixed(3).padStart(12)}  ${(r.delivered / 1e6).toFixed(3).padStart(14)}  ${loss.toFixed(1).padStart(6)}  ${String(r.drops).padStart(10)}  ${(100 * r.cpu).toFixed(0).padStart(5)}%`);
        figures.push({ name: `afpacket-rx-${size}B-batch${b}-ring${blocks / 4}MiB`, value: r.delivered, unit: 'frames/s', note: `offered ${Math.round(r.offered)}/s, ring drops ${r.drops}, rx CPU ${(100 * r.cpu).toFixed(0)}%` });
      }
    }
    figures.push(...await afxdpRows(nsA, nsB, (size) => senderCode(addon, 'vbA', size, DURATION), DURATION));
  } finally {
    for (const ns of [nsA, nsB]) { try { sh(['netns', 'del', ns]); } catch { /* not created */ } }
  }
  return figures;
}

/**
 * AF_XDP rows of ports.bench.ts, measured the way its AF_PACKET rows are, on
 * the same veth pair and in the same run.
 *
 * RX: the same sender child (bench/ports-sender.ts: AfPacketPort, TX ring, qdisc bypass)
 * blasts 60 B or 1400 B frames into vbA; this process receives on vbB through
 * AfXdpPort (vtepd_xsk in native XDP, copy mode, rings 2048, uv_poll, drain
 * with receive() into a PacketBatch of 256). Delivered = frames received / the
 * sender's window; drops = the socket's ring drops (XDP_STATISTICS).
 * TX: a sender child transmits batches of 256 frames for DURATION s, once with
 * AfPacketPort (sendmmsg) and once with AfXdpPort (TX ring + one sendto kick
 * per batch); vbB has no socket, so its kernel drops the frames (unknown
 * ethertype). Figure: frames the port accepted per second of sender wall time.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AfXdpPort } from '../src/ports/af-xdp-port.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import type { BenchFigure } from './run.js';

const dist = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));

/** ESM child that transmits batches of 256 `size`-byte frames on `ifname` for `seconds` with the given port class. */
function txChild(kind: 'afpacket' | 'afxdp', ifname: string, size: number, seconds: number): string {
  const mod = kind === 'afxdp' ? dist('../src/ports/af-xdp-port.js') : dist('../src/ports/af-packet-port.js');
  const ctor = kind === 'afxdp' ? 'AfXdpPort' : 'AfPacketPort';
  const opts = kind === 'afxdp' ? `{ interface: ${JSON.stringify(ifname)} }` : `{ interface: ${JSON.stringify(ifname)}, qdiscBypass: true, sndbuf: 4 << 20, txWaitMs: 1, blockSize: 4096, blockCount: 1, frameSize: 2048 }`;
  return `import(${JSON.stringify(mod)}).then(async (m) => {
  const { PacketBatch } = await import(${JSON.stringify(dist('../src/batch/packet-batch.js'))});
  const p = new m.${ctor}(${opts});
  const b = new PacketBatch({ capacity: 256 });
  const f = new Uint8Array(${size}); f.set([2,0,0,0,0,2, 2,0,0,0,0,1, 0x88,0xb5]);
  for (let i = 0; i < 256; i++) b.append(f, 0, f.length, f.length, 0, 0);
  let sent = 0; const t0 = process.hrtime.bigint(); const end = t0 + BigInt(${seconds * 1e9});
  const c0 = process.cpuUsage();
  while (process.hrtime.bigint() < end) sent += p.transmit(b);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9; const c = process.cpuUsage(c0);
  p.pollStats();
  const d = p.details ? p.details() : {};
  process.stdout.write(JSON.stringify({ sent, secs, cpu: (c.user + c.system) / 1e6 / secs, drops: p.counters.totalDrops, kicks: d.txKicks ?? null }));
  await p.close();
});`;
}

async function runChild(ns: string, code: string): Promise<Record<string, number>> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((r) => child.on('exit', r));
  return JSON.parse(out) as Record<string, number>;
}

/** Runs the AF_PACKET sender child for `size`-byte frames; resolves with frames sent and its wall seconds. */
export interface RxSender { (size: number): Promise<{ sent: number; secs: number }> }

/** AF_XDP receive rows; `sender(size)` is ports.bench.ts's AF_PACKET blaster for vbA. */
async function rxRow(nsA: string, nsB: string, sender: RxSender, size: number, duration: number): Promise<{ offered: number; delivered: number; drops: number; cpu: number }> {
  const port = new AfXdpPort({ interface: 'vbB', netns: nsB });
  const batch = new PacketBatch({ capacity: 256 });
  let got = 0;
  port.onReadable(() => {
    for (;;) {
      batch.clear();
      const n = port.receive(batch);
      got += n;
      if (n < 256) break;
    }
  });
  port.pollStats();
  const drops0 = port.counters.totalDrops;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await sender(size);
  await new Promise((res) => setTimeout(res, 50));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  port.pollStats();
  const drops = port.counters.totalDrops - drops0;
  await port.close();
  void duration;
  return { offered: r.sent / r.secs, delivered: got / r.secs, drops, cpu: (cpu.user + cpu.system) / 1e6 / wall };
}

export async function afxdpRows(nsA: string, nsB: string, sender: RxSender, duration: number): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  console.log('');
  console.log(`  AF_XDP rx: same sender child -> veth -> AfXdpPort in ${nsB} (native XDP, copy mode, rings 2048, batch 256), ${duration} s per row`);
  console.log('  size  batch   offered Mpps  delivered Mpps  loss %  ring drops  rx CPU');
  for (const size of [60, 1400]) {
    const r = await rxRow(nsA, nsB, sender, size, duration);
    const loss = r.offered > 0 ? 100 * (1 - r.delivered / r.offered) : 0;
    console.log(`  ${String(size).padStart(4)}  ${String(256).padStart(5)}   ${(r.offered / 1e6).toFixed(3).padStart(12)}  ${(r.delivered / 1e6).toFixed(3).padStart(14)}  ${loss.toFixed(1).padStart(6)}  ${String(r.drops).padStart(10)}  ${(100 * r.cpu).toFixed(0).padStart(5)}%`);
    figures.push({ name: `afxdp-rx-${size}B-batch256`, value: r.delivered, unit: 'frames/s', note: `offered ${Math.round(r.offered)}/s, ring drops ${r.drops}, rx CPU ${(100 * r.cpu).toFixed(0)}%` });
  }
  console.log('');
  console.log(`  tx: child in ${nsA} transmits batches of 256 for ${duration} s; vbB has no socket (its kernel drops the frames); frames accepted per second`);
  console.log('  size  port       sent Mpps  tx CPU  syscalls/batch');
  for (const size of [60, 1400]) {
    for (const kind of ['afpacket', 'afxdp'] as const) {
      const r = await runChild(nsA, txChild(kind, 'vbA', size, duration));
      const batches = r.sent / 256;
      const perBatch = kind === 'afxdp' ? (r.kicks / Math.max(1, batches)).toFixed(2) : '>= 1 (sendmmsg)';
      console.log(`  ${String(size).padStart(4)}  ${kind.padEnd(9)}  ${(r.sent / r.secs / 1e6).toFixed(3).padStart(9)}  ${(100 * r.cpu).toFixed(0).padStart(5)}%  ${perBatch}`);
      figures.push({ name: `${kind}-tx-${size}B-batch256`, value: r.sent / r.secs, unit: 'frames/s', note: `tx CPU ${(100 * r.cpu).toFixed(0)}%, drops ${r.drops}` });
    }
  }
  return figures;
}

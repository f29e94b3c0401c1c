/**
 * AF_PACKET port receive and transmit rates on a veth pair between two namespaces.
 *
 * Method: a sender child (bench/ports-sender.ts under `ip netns exec A`) sends
 * 60-byte or 1400-byte frames for DURATION s with AfPacketPort.transmit() of 256
 * frames (4 MiB send buffer, qdisc bypass), through the TX ring or sendmmsg; this
 * process receives on the other end through AfPacketPort (RX ring TPACKET_V2 or
 * V3, uv_poll, drain with receive() into a PacketBatch of 32 or 256).
 * Figures: offered (sent by the child / its wall time), delivered (received here
 * / the same window), ring drops (PACKET_STATISTICS), receiver CPU
 * (process.cpuUsage over the window / wall time), sender CPU per frame and send
 * syscalls per 256-frame batch (its own counters). Root only; 2 cores, not pinned.
 */
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AfPacketPort } from '../src/ports/af-packet-port.js';
import { PacketBatch } from '../src/batch/packet-batch.js';
import { nativeAvailable } from '../src/native/addon.js';
import type { BenchFigure } from './run.js';
import { afxdpRows } from './ports-xsk.js';
import type { SenderResult, SenderSpec } from './ports-sender.js';

const DURATION = 2;
const SENDER = fileURLToPath(new URL('./ports-sender.js', import.meta.url));

function sh(args: string[]): void { execFileSync('ip', args, { stdio: 'ignore' }); }

interface Row { size: number; batch: number; rx: 2 | 3; tx: 'ring' | 'sendmmsg'; blocks?: number }
interface Result { offered: number; delivered: number; drops: number; cpu: number; s: SenderResult }

async function runOne(nsA: string, nsB: string, r: Row): Promise<Result> {
  const port = new AfPacketPort({ interface: 'vbB', netns: nsB, rxRingVersion: r.rx, blockCount: r.blocks });
  const batch = new PacketBatch({ capacity: r.batch });
  let got = 0;
  port.onReadable(() => {
    for (;;) {
      batch.clear();
      const n = port.receive(batch);
      got += n;
      if (n < r.batch) break;
    }
  });
  port.pollStats(); // zero the kernel counters
  const startDrops = port.counters.kernelDrops;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const s = await runSender(nsA, { interface: 'vbA', size: r.size, seconds: DURATION, burst: 256, txRing: r.tx === 'ring', qdiscBypass: true });
  await new Promise((res) => setTimeout(res, 50)); // a V3 block retires after blockTimeoutMs
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  port.pollStats();
  const drops = port.counters.kernelDrops - startDrops;
  await port.close();
  return { offered: s.sent / s.secs, delivered: got / s.secs, drops, cpu: (cpu.user + cpu.system) / 1e6 / wall, s };
}

/** Runs the sender child (bench/ports-sender.ts) in namespace `ns`; resolves with what it sent. */
async function runSender(ns: string, spec: SenderSpec): Promise<SenderResult> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, SENDER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise((res) => child.on('exit', res));
  return JSON.parse(out) as SenderResult;
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
    console.log(`  method: sender child in ${nsA} (AfPacketPort.transmit of 256, qdisc bypass) -> veth -> AfPacketPort in ${nsB}, ${DURATION} s per row`);
    console.log('  size  batch  rx  tx        offered Mpps  delivered Mpps  loss %  ring drops  rx CPU  tx ns/frame  tx syscalls/batch');
    const rows: Row[] = [
      { size: 60, batch: 32, rx: 2, tx: 'ring' }, { size: 60, batch: 256, rx: 2, tx: 'ring' }, { size: 60, batch: 256, rx: 3, tx: 'ring' },
      { size: 60, batch: 256, rx: 2, tx: 'sendmmsg' },
      { size: 1400, batch: 32, rx: 2, tx: 'ring' }, { size: 1400, batch: 256, rx: 2, tx: 'ring' }, { size: 1400, batch: 256, rx: 3, tx: 'ring' },
      { size: 1400, batch: 256, rx: 2, tx: 'sendmmsg' },
    ];
    for (const row of rows) {
      const r = await runOne(nsA, nsB, row);
      const loss = r.offered > 0 ? 100 * (1 - r.delivered / r.offered) : 0;
      const txNs = r.s.sent > 0 ? (r.s.cpu * 1e9) / r.s.sent : 0;
      const perBatch = r.s.sent > 0 ? r.s.syscalls / (r.s.sent / 256) : 0;
      console.log(`  ${String(row.size).padStart(4)}  ${String(row.batch).padStart(5)}  v${row.rx}  ${row.tx.padEnd(8)}  ${(r.offered / 1e6).toFixed(3).padStart(12)}  ${(r.delivered / 1e6).toFixed(3).padStart(14)}  ${loss.toFixed(1).padStart(6)}  ${String(r.drops).padStart(10)}  ${(100 * r.cpu).toFixed(0).padStart(5)}%  ${txNs.toFixed(0).padStart(11)}  ${perBatch.toFixed(2).padStart(17)}`);
      const tag = `afpacket-${row.size}B-batch${row.batch}-rxv${row.rx}-tx${row.tx}`;
      figures.push({ name: `${tag}-delivered`, value: r.delivered, unit: 'frames/s', note: `offered ${Math.round(r.offered)}/s, ring drops ${r.drops}, rx CPU ${(100 * r.cpu).toFixed(0)}%` });
      figures.push({ name: `${tag}-sent`, value: r.offered, unit: 'frames/s', note: `sender ${txNs.toFixed(0)} ns CPU per frame, ${perBatch.toFixed(2)} syscalls per 256 frames` });
    }
    figures.push(...await afxdpRows(nsA, nsB, (size) => runSender(nsA, { interface: 'vbA', size, seconds: DURATION, burst: 256, txRing: true, qdiscBypass: true }), DURATION));
  } finally {
    for (const ns of [nsA, nsB]) { try { sh(['netns', 'del', ns]); } catch { /* not created */ } }
  }
  return figures;
}

/**
 * `npm run bench:live` (root): frames/s and host CPU through ONE VTEP, VXLAN
 * encap direction (VM port -> underlay), vtepd vs the Linux kernel bridge +
 * vxlan device, same namespaces (lab.ts), same generator (generator.ts), for
 * 60-byte (64 B on the wire with FCS) and 1400-byte frames; then the loss curve
 * at 25/50/75% of the generator's unpaced rate (measured in the kernel setup,
 * so both setups get identical offered rates) plus the unpaced point.
 *
 * Per point: offered = frames the generator's sendmmsg accepted / its send time;
 * delivered = S's ul0 rx packets (ip -s -j link) over the same window, divided by
 * the send time, after a 150 ms drain; host CPU = /proc/stat deltas (readHostCpu)
 * over the window in cores, split user / system / softirq; the generator's own
 * CPU is reported by it; vtepd's process CPU from /proc/PID/stat (parseTaskStat).
 * Each point checks that the sink got only whole encapsulated frames (bytes =
 * frames x (size + 50)) and never more than were sent.
 *
 * Reading the figures: the kernel datapath runs inside the generator's sendmmsg
 * (veth xmit -> bridge -> vxlan -> veth, all in that syscall), so it pushes back
 * on the generator and never loses frames: its "max" row is the rate generator +
 * kernel VTEP reach together. vtepd is a separate process behind an AF_PACKET
 * ring: the generator outruns it and the excess is dropped at the ring (kernel
 * ring drops, printed at the end). Host CPU covers everything on the machine.
 * Env: VTEPD_LIVE_SECONDS (per point, default 2.5), VTEPD_LIVE_BATCH (vtepd batch size, default 64).
 */
import { readFileSync } from 'node:fs';
import { readHostCpu, parseTaskStat, type HostCpuTimes } from '../../src/cost/proc-stat.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { callDaemon } from '../../src/control/control-client.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { runGenerator } from './generator.js';
import { LiveLab, DST_MAC, SRC_MAC } from './lab.js';

const SECONDS = Number(process.env.VTEPD_LIVE_SECONDS ?? 2.5);
const SIZES = [60, 1400] as const;
const FRACTIONS = [1, 0.75, 0.5, 0.25] as const;
const BATCH = Number(process.env.VTEPD_LIVE_BATCH ?? 64);

type Setup = 'kernel' | 'vtepd';
interface Point {
  setup: Setup; size: number; fraction: number; offered: number; delivered: number; lossPct: number;
  host: { user: number; system: number; softirq: number; busy: number }; genCores: number; daemonCores: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function taskCpu(pid: number): number {
  const s = parseTaskStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return s.user + s.system;
}
function hostCores(a: HostCpuTimes, b: HostCpuTimes, wall: number) {
  const user = (b.user + b.nice - a.user - a.nice) / wall;
  const system = (b.system - a.system) / wall;
  const softirq = (b.softirq - a.softirq) / wall;
  const irq = (b.irq - a.irq) / wall;
  return { user, system, softirq, busy: user + system + softirq + irq };
}

async function measure(lab: LiveLab, setup: Setup, size: number, fraction: number, rate: number, daemonPid: number | null): Promise<Point> {
  const rx0 = lab.rxCounters(lab.sink, 'ul0');
  const h0 = readHostCpu();
  const d0 = daemonPid ? taskCpu(daemonPid) : 0;
  const t0 = process.hrtime.bigint();
  const g = await runGenerator({ netns: lab.gen, interface: 'gen0', size, seconds: SECONDS, rate, srcMac: SRC_MAC, dstMac: DST_MAC });
  await sleep(150); // frames still queued in the VTEP
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const h1 = readHostCpu();
  const d1 = daemonPid ? taskCpu(daemonPid) : 0;
  const rx1 = lab.rxCounters(lab.sink, 'ul0');
  const delivered = rx1.packets - rx0.packets;
  // Every delivered frame must be one encapsulated generator frame: Ethernet + IPv4 + UDP + VXLAN = 50 bytes more.
  if (delivered > 0 && (rx1.bytes - rx0.bytes) !== delivered * (size + 50)) {
    throw new Error(`${setup} ${size} B: the sink got ${rx1.bytes - rx0.bytes} bytes in ${delivered} frames, not ${size + 50} bytes each`);
  }
  if (delivered > g.sent) throw new Error(`${setup} ${size} B: the sink got ${delivered} frames, more than the ${g.sent} sent`);
  return {
    setup, size, fraction, offered: g.rate, delivered: delivered / g.seconds,
    lossPct: g.sent > 0 ? Math.max(0, 100 * (1 - delivered / g.sent)) : 0,
    host: hostCores(h0, h1, wall), genCores: g.cpuSeconds / wall, daemonCores: daemonPid ? (d1 - d0) / wall : null,
  };
}

const f2 = (x: number) => x.toFixed(2);
const mpps = (x: number) => (x / 1e6).toFixed(3);
function printPoint(p: Point): void {
  console.log(`  ${p.setup.padEnd(6)} ${String(p.size).padStart(4)}  ${(p.fraction === 1 ? 'max' : `${p.fraction * 100}%`).padStart(4)}  ${mpps(p.offered).padStart(8)}  ${mpps(p.delivered).padStart(9)}  ${p.lossPct.toFixed(1).padStart(5)}  ${f2(p.host.busy).padStart(5)} (${f2(p.host.user)}/${f2(p.host.system)}/${f2(p.host.softirq)})  ${f2(p.genCores).padStart(4)}  ${p.daemonCores === null ? '   -' : f2(p.daemonCores).padStart(4)}`);
}

async function startSetup(lab: LiveLab, setup: Setup): Promise<number | null> {
  const pid = setup === 'vtepd' ? await lab.startVtepd(BATCH) : (await lab.startKernel(), null);
  await runGenerator({ netns: lab.gen, interface: 'gen0', size: 60, seconds: 0.3, srcMac: SRC_MAC, dstMac: DST_MAC }); // warm-up: learning, JIT
  return pid;
}

/** Points alternate kernel / vtepd so both see the same background load (the host is shared). */
async function runAll(labs: Record<Setup, LiveLab>, pids: Record<Setup, number | null>, out: Point[]): Promise<void> {
  for (const size of SIZES) {
    let max = 0;
    for (const fraction of FRACTIONS) {
      for (const setup of ['kernel', 'vtepd'] as const) {
        const rate = fraction === 1 ? 0 : Math.round(max * fraction);
        const p = await measure(labs[setup], setup, size, fraction, rate, pids[setup]);
        if (fraction === 1 && setup === 'kernel') max = p.offered;
        printPoint(p);
        out.push(p);
      }
    }
  }
}

async function idleBusy(): Promise<number> {
  const a = readHostCpu();
  const t0 = process.hrtime.bigint();
  await sleep(1000);
  return hostCores(a, readHostCpu(), Number(process.hrtime.bigint() - t0) / 1e9).busy;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('bench:live needs root: it creates network namespaces, veths and AF_PACKET sockets (run it with sudo).');
    return 1;
  }
  if (!nativeAvailable()) {
    console.error('bench:live needs the native addon (npm run build:native).');
    return 1;
  }
  const labs = {} as Record<Setup, LiveLab>;
  const closeAll = () => { for (const l of Object.values(labs)) l.closeSync(); };
  const onSignal = (sig: NodeJS.Signals) => { closeAll(); console.error(`\ninterrupted (${sig}): namespaces removed`); process.exit(130); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', closeAll);
  const points: Point[] = [];
  try {
    labs.kernel = new LiveLab(`vtl${process.pid}k`);
    labs.vtepd = new LiveLab(`vtl${process.pid}v`);
    const background = await idleBusy();
    console.log('vtepd live benchmark: one VTEP, VXLAN encap (VM port -> underlay), VNI 100, static FDB entry, no outer UDP checksum');
    console.log('  topology (one per setup): [G] gen0 -veth- vm0 [H: VTEP] ul0 -veth- ul0 [S] (S has no IP: frames counted, not processed)');
    console.log(`  generator: own AF_PACKET sender (bench/live/generator.ts) in G, sendmmsg bursts of 256, qdisc bypass, ${SECONDS} s per point, paced by sleeps between bursts`);
    console.log(`  delivered: rx packets of S's ul0 (ip -s -j link); host CPU: /proc/stat deltas in cores (${readHostCpu().cpus} CPUs shared by generator, VTEP, sink and anything else running; nothing pinned)`);
    console.log(`  vtepd: \`vtepd run\`, AF_PACKET ports (TPACKET_V3 rx, sendmmsg tx), batch ${BATCH}; kernel: bridge + vxlan device (KernelVtep), same FDB entry`);
    console.log(`  points alternate kernel/vtepd; paced rates are fractions of the generator's unpaced rate in the kernel setup`);
    console.log(`  background host load before the run (1 s, no traffic): ${f2(background)} busy cores${background > 0.3 ? '  <- the host is busy: figures are noisy' : ''}`);
    const pids = { kernel: await startSetup(labs.kernel, 'kernel'), vtepd: await startSetup(labs.vtepd, 'vtepd') };
    console.log('  setup  size  rate  offered   delivered  loss%  host cores (user/sys/softirq)  gen  vtepd');
    console.log('                      Mfps      Mfps                                            cores cores');
    await runAll(labs, pids, points);
    const st = (await callDaemon(labs.vtepd.socket, 'stats')) as StatsSnapshot;
    const vm0 = st.ports.find((x) => x.name === 'vm0');
    const net = st.networks[0];
    console.log(`  vtepd counters over the whole run: vm0 rx ${vm0?.rxPackets}, kernel ring drops ${vm0?.kernelDrops}, port drops ${vm0?.drops}; unicast ${net?.unicast}, flooded ${net?.flooded}, dropped ${net?.dropped}`);
  } catch (e) {
    console.error(`bench:live failed: ${(e as Error).message}`);
    for (const l of Object.values(labs)) await l.close();
    return 1;
  }
  for (const l of Object.values(labs)) await l.close();
  console.log('\n  summary (unpaced generator, delivered frames/s):');
  for (const size of SIZES) {
    const k = points.find((p) => p.setup === 'kernel' && p.size === size && p.fraction === 1)!;
    const v = points.find((p) => p.setup === 'vtepd' && p.size === size && p.fraction === 1)!;
    const ratio = v.delivered / k.delivered;
    const target = size === 60 ? `  (target >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})` : '';
    console.log(`  ${String(size).padStart(4)} B: kernel ${mpps(k.delivered)} Mfps, vtepd ${mpps(v.delivered)} Mfps, vtepd/kernel ${ratio.toFixed(2)}${target}`);
    // Overload can starve the daemon (generator + softirq take the CPU it needs): the best point of the curve too.
    const peak = (setup: Setup) => Math.max(...points.filter((p) => p.setup === setup && p.size === size).map((p) => p.delivered));
    console.log(`          peak delivered over the loss curve: kernel ${mpps(peak('kernel'))} Mfps, vtepd ${mpps(peak('vtepd'))} Mfps, vtepd/kernel ${(peak('vtepd') / peak('kernel')).toFixed(2)}`);
    console.log(`          host busy cores minus generator: kernel ${f2(k.host.busy - k.genCores)}, vtepd ${f2(v.host.busy - v.genCores)} (vtepd process ${f2(v.daemonCores ?? 0)})`);
  }
  return 0;
}

process.exitCode = await main();

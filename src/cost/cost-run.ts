/**
 * `vtepd cost` driver: for each plan, build the namespace topology, start the
 * plan's data path, and for each frame size offer the same traffic while
 * beginPlanRun() samples host CPU; then tear everything down (also on error;
 * the caller's SIGINT handler uses closeAllSync()).
 *
 * Measurement window per (plan, frame size):
 *   learning frames both ways -> settle -> sink rx baseline -> CPU start
 *   -> paced send for D s -> DRAIN_MS for in-flight frames -> CPU stop
 *   -> sink rx delta = delivered.
 * Excluded from host CPU: this process's USER time over the window (the
 * generator and the progress bar). Its system time (sendmmsg and the veth
 * receive softirq it runs inline) is NOT excluded: with tick accounting that
 * time is also counted as host softirq, and in the kernel plan it holds most
 * of the datapath (softirq run inline in sendmmsg; see docs/cost-report.md).
 * It is stated in the run's notes; cost-attrib.ts gives the by-process view.
 */
import { loadavg, cpus } from 'node:os';
import { iprouteJson } from '../offload/iproute.js';
import { VM_MTU } from '../lab/topology.js';
import type { OverlayLab } from '../lab/harness.js';
import { beginPlanRun, type PlanRun } from './plan-run.js';
import { readHostCpu, readSelfCpu, type HostCpuTimes, type TaskCpuTimes } from './proc-stat.js';
import { generatedFrames, pcapFrames, PacedSender, type TrafficFrames } from './cost-traffic.js';
import { startPlan, type CostPlan, type StageTotal } from './cost-plans.js';
import { attribCpu, attribSample, ksoftirqdPids, tasksCpu } from './cost-attrib.js';

const DRAIN_MS = 300;
const SETTLE_MS = 200;
export const MIN_FRAME = 64;
/** Largest frame (FCS included) the generator port's MTU lets through. */
export const MAX_FRAME = VM_MTU + 14 + 4;

export interface CostRunOptions {
  plans: CostPlan[];
  frameSizes: number[];
  durationSeconds: number;
  /** Frames per second, or Infinity for as fast as the socket takes them. */
  rate: number;
  pcap?: string;
  /**
   * Subtract the host CPU measured on the idle topology just before each run
   * (other jobs on a shared host), scaled to the run's window, clamped at 0.
   */
  subtractIdle?: boolean;
  /** Called about every 100 ms: finished share of all runs 0..1 and what runs. */
  onProgress?: (share: number, label: string) => void;
}

const openLabs = new Set<OverlayLab>();
let aborted = false;

/** Last-resort teardown (SIGINT, process exit): kill daemons, delete namespaces. */
export function closeAllSync(): void {
  aborted = true;
  for (const lab of openLabs) lab.closeSync();
  openLabs.clear();
}

async function sinkRx(lab: OverlayLab, vm: string): Promise<number> {
  const [l] = await iprouteJson<{ stats64?: { rx: { packets: number } } }>('ip', ['-s', 'link', 'show', 'dev', 'eth0'], { netns: lab.vm(vm).ns });
  if (!l?.stats64) throw new Error(`no rx counters for eth0 in ${lab.vm(vm).ns}`);
  return l.stats64.rx.packets;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Host CPU in cores over `seconds` of no traffic (background load + idle daemons). */
async function idleCores(seconds: number): Promise<{ user: number; system: number; softirq: number; seconds: number; ksoftirqd: number }> {
  const k0 = tasksCpu(ksoftirqdPids());
  const a = readHostCpu();
  const self0 = readSelfCpu();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const b = readHostCpu();
  const self1 = readSelfCpu();
  const k1 = tasksCpu(ksoftirqdPids());
  const s = (performance.now() - t0) / 1000;
  return {
    ksoftirqd: Math.max(0, k1.user + k1.system - k0.user - k0.system) / s,
    user: Math.max(0, b.user + b.nice - a.user - a.nice - (self1.user - self0.user)) / s,
    system: Math.max(0, b.system - a.system) / s,
    softirq: Math.max(0, b.softirq - a.softirq) / s,
    seconds: s,
  };
}

/** The daemons' own CPU: immune to other jobs on the host, but without the kernel work they cause. */
function daemonNote(a: TaskCpuTimes, b: TaskCpuTimes, delivered: number): string {
  const u = b.user - a.user;
  const s = b.system - a.system;
  const per = delivered > 0 ? `${Math.round(((u + s) * 1e9) / delivered)} ns per delivered frame` : 'n/a per frame';
  return `vtepd daemons' own CPU (/proc/PID/stat, both hypervisors): user ${u.toFixed(2)} s, system ${s.toFixed(2)} s = ${per}`;
}

/**
 * The daemons' own stage timers (CostMeter, per batch) over the window, as
 * ns per delivered frame summed over both daemons: where in vtepd the user
 * CPU goes (rx and tx include their syscalls), and what `native` changes.
 */
export function stageNsPerFrame(a: Map<string, StageTotal> | null, b: Map<string, StageTotal> | null, delivered: number): PlanRun['stages'] {
  if (a === null || b === null) return undefined;
  // Per daemon: the window's timed batches, scaled to the window's frames (the difference of two
  // whole-run estimates can go below 0: each is a ratio of its own samples). Then summed by stage.
  const byStage = new Map<string, { seconds: number; frames: number; batches: number }>();
  for (const [key, v] of b) {
    const was = a.get(key) ?? { seconds: 0, frames: 0, batches: 0, sampledSeconds: 0, sampledFrames: 0 };
    const frames = v.frames - was.frames;
    const timedFrames = (v.sampledFrames ?? 0) - (was.sampledFrames ?? 0);
    const seconds = v.sampledSeconds !== null && was.sampledSeconds !== null
      ? (timedFrames > 0 ? ((v.sampledSeconds - was.sampledSeconds) * frames) / timedFrames : 0)
      : Math.max(0, v.seconds - was.seconds);
    const name = key.slice(key.indexOf(':') + 1);
    const s = byStage.get(name) ?? { seconds: 0, frames: 0, batches: 0 };
    s.seconds += seconds;
    s.frames += frames;
    s.batches += v.batches - was.batches;
    byStage.set(name, s);
  }
  return [...byStage.entries()].map(([name, s]) => ({
    name,
    nsPerFrame: delivered > 0 ? (s.seconds * 1e9) / delivered : null,
    // Batch fill explains per-frame costs: per-batch work (syscalls, wake-ups) is shared by fewer frames in small batches.
    framesPerBatch: s.batches > 0 ? s.frames / s.batches : null,
  }));
}

/** Run every (plan, frame size) and return the PlanRuns in that order. */
export async function runCost(o: CostRunOptions): Promise<{ host: PlanRun[]; attributed: PlanRun[] }> {
  const sizes = o.pcap ? [0] : o.frameSizes;
  for (const s of sizes) {
    if (!o.pcap && (!Number.isInteger(s) || s < MIN_FRAME || s > MAX_FRAME)) throw new RangeError(`frame size ${s} B outside ${MIN_FRAME}..${MAX_FRAME} (FCS included; the generator port's MTU is ${VM_MTU})`);
  }
  const total = o.plans.length * sizes.length;
  const runs: PlanRun[] = [];
  const attributed: PlanRun[] = [];
  let done = 0;
  for (const plan of o.plans) {
    const tag = `vtc${process.pid}${plan[0]}`;
    const env = await startPlan(plan, tag, (lab) => openLabs.add(lab));
    const lab = env.lab;
    try {
      const gen = lab.vm('vm11');
      const sink = lab.vm('vm21');
      const tx = new PacedSender(gen.ns, 'eth0');
      const back = new PacedSender(sink.ns, 'eth0');
      try {
        for (const size of sizes) {
          if (aborted) throw new Error('interrupted');
          const frames: TrafficFrames = o.pcap ? pcapFrames(o.pcap, sink.mac, gen.mac, VM_MTU + 14) : generatedFrames(size, sink.mac, gen.mac);
          const label = `${plan} @${frames.frameSize} B`;
          o.onProgress?.(done / total, `${label}: warming up`);
          // Learning: the sink's MAC behind hv2 (and, by decap, in hv1), the generator's behind hv1.
          const hello = generatedFrames(64, 'ff:ff:ff:ff:ff:ff', sink.mac);
          hello.offset = hello.offset.subarray(0, 4);
          hello.length = hello.length.subarray(0, 4);
          back.burstOnce(hello);
          await sleep(SETTLE_MS);
          await tx.run(frames, 2000, 0.2);
          await sleep(SETTLE_MS);
          const idle = await idleCores(Math.min(2, o.durationSeconds));
          const load1 = loadavg()[0];
          const rx0 = await sinkRx(lab, sink.name);
          let stop: HostCpuTimes | null = null;
          const cpu0 = readSelfCpu();
          const dp0 = env.processCpu();
          const at0 = attribSample(env.pids());
          const st0 = await env.stageTotals();
          const sampler = beginPlanRun(() => stop ?? readHostCpu());
          const sent = await tx.run(frames, o.rate, o.durationSeconds, (s) => o.onProgress?.((done + s) / total, label), () => aborted);
          await sleep(DRAIN_MS);
          const cpu1 = readSelfCpu();
          const dp1 = env.processCpu();
          const at1 = attribSample(env.pids());
          stop = readHostCpu();
          const st1 = await env.stageTotals();
          const rx1 = await sinkRx(lab, sink.name);
          const notes = [
            frames.source,
            `host load average before the run (1/5/15 min): ${loadavg().map((x) => x.toFixed(2)).join(' / ')} on ${cpus().length} CPUs`,
            `offered rate: ${o.rate === Infinity ? 'max (as fast as the socket takes frames)' : `${o.rate} frames/s`}, ${sent.seconds.toFixed(2)} s of sending + ${DRAIN_MS} ms drain in the CPU window`,
            `generator (this process) excluded: user ${(cpu1.user - cpu0.user).toFixed(2)} s; its system time ${(cpu1.system - cpu0.system).toFixed(2)} s stays in (sendmmsg, plus the datapath softirq the kernel runs inline in it)`,
            ...(sent.refused > 0 ? [`${sent.refused} frames refused by the full socket buffer (not offered)`] : []),
            ...(await env.notes()),
            ...(dp0 && dp1 ? [daemonNote(dp0, dp1, Math.min(rx1 - rx0, sent.sent))] : []),
          ];
          const delivered = Math.min(rx1 - rx0, sent.sent);
          const run = sampler.end({
            plan, frameSize: frames.frameSize, offeredFrames: sent.sent, deliveredFrames: delivered,
            exclude: { user: cpu1.user - cpu0.user, system: 0 }, notes, stages: stageNsPerFrame(st0, st1, delivered),
          });
          run.load = { loadavg1: load1, cpus: cpus().length, idleCores: idle.user + idle.system + idle.softirq, idleSubtracted: o.subtractIdle === true };
          const bg = `host CPU on the idle topology just before (no traffic, ${idle.seconds.toFixed(1)} s): user ${idle.user.toFixed(2)}, system ${idle.system.toFixed(2)}, softirq ${idle.softirq.toFixed(2)} cores`;
          if (o.subtractIdle) {
            for (const k of ['user', 'system', 'softirq'] as const) run.cpu[k] = Math.max(0, run.cpu[k] - idle[k] * run.durationSeconds);
            notes.push(`${bg}: subtracted (--subtract-idle)`);
          } else {
            notes.push(`${bg}: included in the figures`);
          }
          runs.push(run);
          attributed.push({
            ...run,
            cpu: attribCpu(at0, at1, run.durationSeconds, idle.ksoftirqd),
            notes: [...notes, `CPU attributed by process: user = daemons' utime; system = generator + daemons' stime (incl. softirq run inline in their syscalls); softirq = ksoftirqd threads minus their idle rate ${idle.ksoftirqd.toFixed(3)} cores`],
          });
          if (rx1 - rx0 > sent.sent) runs[runs.length - 1].notes!.push(`sink counted ${rx1 - rx0 - sent.sent} frames more than offered (other traffic); delivered capped at offered`);
          done++;
          o.onProgress?.(done / total, `${label}: done`);
        }
      } finally {
        tx.close();
        back.close();
      }
    } finally {
      await env.stop().catch(() => undefined);
      await lab.close();
      openLabs.delete(lab);
    }
  }
  return { host: runs, attributed };
}

/**
 * CostMeter: always-on accounting of what the data plane costs.
 *
 * Hot side (once per stage per batch, never per frame): `t = meter.stage(i, t, n)`
 * reads the clock once and adds the elapsed time and the batch's frame count to
 * typed arrays; the returned time is the next stage's start, so a pipeline of k
 * stages reads the clock k + 1 times per batch. Frame/byte counters are plain
 * additions. Nothing allocates.
 *
 * Cold side: `snapshot()` reads process CPU (getrusage via process.cpuUsage),
 * optionally the calling thread's CPU (/proc/thread-self/stat) and the host's
 * /proc/stat; `diffSnapshots(a, b)` turns two snapshots into a delta with the
 * derived figures (see derive.ts). The daemon's metrics and `vtepd stats` read
 * snapshots; `vtepd cost` takes one before and one after each plan's run.
 */
import { performance } from 'node:perf_hooks';
import { readHostCpu, readThreadCpu, HOST_CPU_FIELDS, type HostCpuTimes, type TaskCpuTimes } from './proc-stat.js';
import { coresInUse, coresPer10G, cpuNsPerFrame } from './derive.js';

/** Frame counters the meter keeps besides the stages; names are the metric names. */
export const METER_COUNTERS = ['in-frames', 'in-bytes', 'out-frames', 'out-bytes', 'drop-frames'] as const;
export type MeterCounter = (typeof METER_COUNTERS)[number];
const IN_FRAMES = 0, IN_BYTES = 1, OUT_FRAMES = 2, OUT_BYTES = 3, DROP_FRAMES = 4;

export interface StageTotals {
  name: string;
  /** Time spent in the stage, nanoseconds. */
  ns: number;
  frames: number;
  batches: number;
}

export interface CostSnapshot {
  /** Monotonic clock, nanoseconds (performance.now based). */
  wallNs: number;
  /** Whole process, seconds. */
  process: TaskCpuTimes;
  /** The thread that took the snapshot, seconds (when `perThread`). */
  thread: TaskCpuTimes | null;
  /** Host-wide CPU time per state, seconds, all CPUs. */
  host: HostCpuTimes | null;
  counters: Record<MeterCounter, number>;
  stages: StageTotals[];
}

export interface CostDelta {
  wallSeconds: number;
  process: TaskCpuTimes;
  thread: TaskCpuTimes | null;
  /** Host deltas in seconds: user (incl. nice), system, irq, softirq, idle, over all CPUs. */
  host: { user: number; system: number; irq: number; softirq: number; idle: number; cpus: number } | null;
  counters: Record<MeterCounter, number>;
  stages: (StageTotals & { nsPerFrame: number | null })[];
  derived: {
    /** Process CPU (user + system) per input frame, ns. */
    processNsPerFrame: number | null;
    /** Process CPU in cores. */
    processCores: number | null;
    /** Host softirq in cores (kernel packet work, whoever caused it). */
    hostSoftirqCores: number | null;
    /** Host system time in cores. */
    hostSystemCores: number | null;
  };
}

export interface CostMeterOptions {
  /** Read /proc/thread-self/stat in snapshots (use in worker threads). */
  perThread?: boolean;
  /** Read /proc/stat in snapshots (default true). */
  host?: boolean;
}

export class CostMeter {
  readonly stageNames: readonly string[];
  /** Accumulated stage time in milliseconds (performance.now units; converted on read). */
  private readonly stageMs: Float64Array;
  private readonly stageFrames: Float64Array;
  private readonly stageBatches: Float64Array;
  /** Float64 so byte counts never wrap (exact up to 2^53). */
  private readonly counts = new Float64Array(METER_COUNTERS.length);
  private readonly perThread: boolean;
  private readonly readHost: boolean;

  constructor(stageNames: readonly string[], opts: CostMeterOptions = {}) {
    if (new Set(stageNames).size !== stageNames.length) throw new Error(`duplicate stage names: ${stageNames.join(', ')}`);
    this.stageNames = [...stageNames];
    this.stageMs = new Float64Array(stageNames.length);
    this.stageFrames = new Float64Array(stageNames.length);
    this.stageBatches = new Float64Array(stageNames.length);
    this.perThread = opts.perThread ?? false;
    this.readHost = opts.host ?? true;
  }

  /** Index of a stage, resolved once at pipeline construction (hot code uses the number). */
  stageIndex(name: string): number {
    const i = this.stageNames.indexOf(name);
    if (i < 0) throw new Error(`unknown stage "${name}" (known: ${this.stageNames.join(', ')})`);
    return i;
  }

  /** Clock read for the start of a batch. */
  now(): number {
    return performance.now();
  }

  /** End of stage `i` for a batch of `frames` that started at `start`; returns the end time. */
  stage(i: number, start: number, frames: number): number {
    const end = performance.now();
    this.stageMs[i] += end - start;
    this.stageFrames[i] += frames;
    this.stageBatches[i] += 1;
    return end;
  }

  countIn(frames: number, bytes: number): void {
    this.counts[IN_FRAMES] += frames;
    this.counts[IN_BYTES] += bytes;
  }

  countOut(frames: number, bytes: number): void {
    this.counts[OUT_FRAMES] += frames;
    this.counts[OUT_BYTES] += bytes;
  }

  countDrop(frames: number): void {
    this.counts[DROP_FRAMES] += frames;
  }

  snapshot(): CostSnapshot {
    const cpu = process.cpuUsage();
    const counters = {} as Record<MeterCounter, number>;
    METER_COUNTERS.forEach((c, i) => (counters[c] = this.counts[i]));
    return {
      wallNs: performance.now() * 1e6,
      process: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
      thread: this.perThread ? toTimes(readThreadCpu()) : null,
      host: this.readHost ? readHostCpu() : null,
      counters,
      stages: this.stageNames.map((name, i) => ({
        name,
        ns: this.stageMs[i] * 1e6,
        frames: this.stageFrames[i],
        batches: this.stageBatches[i],
      })),
    };
  }
}

function toTimes(t: TaskCpuTimes): TaskCpuTimes {
  return { user: t.user, system: t.system };
}

/** What happened between snapshot `a` and the later snapshot `b`, with derived figures. */
export function diffSnapshots(a: CostSnapshot, b: CostSnapshot): CostDelta {
  const wallSeconds = (b.wallNs - a.wallNs) / 1e9;
  const process = { user: b.process.user - a.process.user, system: b.process.system - a.process.system };
  const thread = a.thread && b.thread ? { user: b.thread.user - a.thread.user, system: b.thread.system - a.thread.system } : null;
  let host: CostDelta['host'] = null;
  if (a.host && b.host) {
    const d = {} as Record<(typeof HOST_CPU_FIELDS)[number], number>;
    for (const f of HOST_CPU_FIELDS) d[f] = b.host[f] - a.host[f];
    host = { user: d.user + d.nice, system: d.system, irq: d.irq, softirq: d.softirq, idle: d.idle, cpus: b.host.cpus };
  }
  const counters = {} as Record<MeterCounter, number>;
  for (const c of METER_COUNTERS) counters[c] = b.counters[c] - a.counters[c];
  const stages = b.stages.map((s, i) => {
    const p = a.stages[i] ?? { ns: 0, frames: 0, batches: 0 };
    const frames = s.frames - p.frames;
    const ns = s.ns - p.ns;
    return { name: s.name, ns, frames, batches: s.batches - p.batches, nsPerFrame: frames > 0 ? ns / frames : null };
  });
  const processCpu = process.user + process.system;
  return {
    wallSeconds,
    process,
    thread,
    host,
    counters,
    stages,
    derived: {
      processNsPerFrame: cpuNsPerFrame(processCpu, counters['in-frames']),
      processCores: coresInUse(processCpu, wallSeconds),
      hostSoftirqCores: host ? coresInUse(host.softirq, wallSeconds) : null,
      hostSystemCores: host ? coresInUse(host.system, wallSeconds) : null,
    },
  };
}

/** Cores needed per 10 Gb/s from a delta's process cost at `frameSize` (FCS included). */
export function deltaCoresPer10G(d: CostDelta, frameSize: number): number | null {
  return coresPer10G(d.derived.processNsPerFrame, frameSize);
}

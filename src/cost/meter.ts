/**
 * CostMeter: always-on accounting of what the data plane costs.
 *
 * Hot side (once per stage per batch, never per frame):
 *   let t = meter.begin();  ...stage 0...  t = meter.stage(0, t, n);  ...
 * Frame and batch counts are added on every batch. The clock (~40 ns per read
 * on this VM's kvm-clock, 5 stages on 32-frame batches would be ~7%) is read
 * only on one batch in `sampleEvery` (default 16): begin() returns -1 on the
 * others and stage() then skips the clock. Stage ns per frame comes from the
 * sampled batches, totals are scaled to all frames. Nothing allocates.
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
  /** Estimated time spent in the stage over all frames, ns (sampled ns scaled to all frames). */
  ns: number;
  frames: number;
  batches: number;
  /** Measured time and the frames of the timed (sampled) batches. */
  sampledNs: number;
  sampledFrames: number;
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
  /** Time one batch in this many (power of two; 1 = every batch). Default 16. */
  sampleEvery?: number;
}

export class CostMeter {
  readonly stageNames: readonly string[];
  /** Accumulated stage time in milliseconds (performance.now units; converted on read). */
  private readonly stageMs: Float64Array;
  private readonly stageFrames: Float64Array;
  private readonly stageBatches: Float64Array;
  private readonly stageSampled: Float64Array;
  private readonly sampleMask: number;
  private batchNo = 0;
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
    this.stageSampled = new Float64Array(stageNames.length);
    const every = opts.sampleEvery ?? 16;
    if (!Number.isInteger(every) || every < 1 || (every & (every - 1)) !== 0) throw new RangeError(`sampleEvery must be a power of two >= 1, got ${every}`);
    this.sampleMask = every - 1;
    this.perThread = opts.perThread ?? false;
    this.readHost = opts.host ?? true;
  }

  /** Index of a stage, resolved once at pipeline construction (hot code uses the number). */
  stageIndex(name: string): number {
    const i = this.stageNames.indexOf(name);
    if (i < 0) throw new Error(`unknown stage "${name}" (known: ${this.stageNames.join(', ')})`);
    return i;
  }

  /**
   * Start of a batch: the clock on sampled batches, -1 on the others. The
   * first batch is always sampled (batches 1, 17, 33, ... with the default):
   * a quiet daemon that has seen 13 frames reports their time, not 0.
   */
  begin(): number {
    return (this.batchNo++ & this.sampleMask) === 0 ? performance.now() : -1;
  }

  /** End of stage `i` for a batch of `frames` that started at `start` (from begin/stage); returns the next start. */
  stage(i: number, start: number, frames: number): number {
    this.stageFrames[i] += frames;
    this.stageBatches[i] += 1;
    if (start < 0) return -1;
    const end = performance.now();
    this.stageMs[i] += end - start;
    this.stageSampled[i] += frames;
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
      stages: this.stageNames.map((name, i) => {
        const sampledNs = this.stageMs[i] * 1e6;
        const sampledFrames = this.stageSampled[i];
        const frames = this.stageFrames[i];
        return { name, ns: sampledFrames > 0 ? (sampledNs * frames) / sampledFrames : 0, frames, batches: this.stageBatches[i], sampledNs, sampledFrames };
      }),
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
    const p = a.stages[i] ?? { ns: 0, frames: 0, batches: 0, sampledNs: 0, sampledFrames: 0 };
    const frames = s.frames - p.frames;
    const sampledNs = s.sampledNs - p.sampledNs;
    const sampledFrames = s.sampledFrames - p.sampledFrames;
    const nsPerFrame = sampledFrames > 0 ? sampledNs / sampledFrames : null;
    return { name: s.name, ns: nsPerFrame === null ? 0 : nsPerFrame * frames, frames, batches: s.batches - p.batches, sampledNs, sampledFrames, nsPerFrame };
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

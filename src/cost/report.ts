/**
 * Cost report: per-plan figures derived from PlanRuns, compared with a
 * baseline plan (normally `host`). Inputs that contradict themselves
 * (delivered > offered, negative CPU, no duration) are refused, so every
 * figure in a report satisfies: delivered <= offered, CPU >= 0, freed share in
 * [-1, 1]. Rendering lives in report-render.ts.
 */
import os from 'node:os';
import { coresInUse, coresPer10G, cpuNsPerFrame, freedShare, framesPerSecondAtLineRate, TEN_GBPS } from './derive.js';
import type { PlanRun } from './plan-run.js';

/**
 * The plan with no VTEP: the generator's port wired straight to the sink. Its
 * row is the traffic's own cost (send and receive), which every plan pays; the
 * others' netNsPerFrame is what remains once it is taken off.
 */
export const WIRE_PLAN = 'wire';

export interface PlanFigures {
  plan: string;
  frameSize: number;
  durationSeconds: number;
  offeredFrames: number;
  deliveredFrames: number;
  lostFrames: number;
  /** lost / offered, 0..1 (0 when nothing was offered). */
  loss: number;
  offeredFps: number;
  deliveredFps: number;
  /** Delivered throughput as a share of 10 Gb/s line rate at this frame size. */
  lineRateShare10G: number;
  cpuSeconds: { user: number; system: number; softirq: number; total: number };
  cores: { user: number; system: number; softirq: number; total: number };
  /** Host CPU ns per delivered frame, split and total; null when nothing was delivered. */
  nsPerFrame: { user: number | null; system: number | null; softirq: number | null; total: number | null };
  coresPer10G: number | null;
  /** Share of host CPU per delivered frame this plan frees compared with the baseline, -1..1 (null for the wire row). */
  freedVsBaseline: number | null;
  /**
   * The overlay's own host CPU per delivered frame: nsPerFrame.total minus the
   * wire row's at the same frame size (the generator's send and the sink's
   * receive, which every plan pays); null without a wire run, and for it.
   */
  netNsPerFrame: number | null;
  /** The daemons' stage timers over the window: ns per delivered frame, and frames per batch the stage saw. */
  stages: { name: string; nsPerFrame: number | null; framesPerBatch?: number | null }[];
  notes: string[];
  /** Why this run's figures may be off: background load, a busy host (from PlanRun.load). */
  warnings: string[];
}

export interface CostReport {
  schema: 'vtepd-cost-report/1';
  generatedAt: string;
  host: { kernel: string; cpus: number; cpuModel: string; node: string; hostname?: string };
  baseline: string;
  formulas: Record<string, string>;
  plans: PlanFigures[];
}

export const REPORT_FORMULAS = {
  nsPerFrame: 'host CPU seconds (user + system + softirq) * 1e9 / delivered frames',
  cores: 'host CPU seconds / run duration seconds',
  coresPer10G: 'nsPerFrame * 1e-9 * 10e9 / ((frameSize + 20) * 8); frameSize includes FCS, 20 B = preamble + SFD + inter-frame gap',
  freedVsBaseline: '(baseline nsPerFrame - plan nsPerFrame) / max(both); 0 when equal; in [-1, 1]',
  netNsPerFrame: 'nsPerFrame - the wire plan\'s nsPerFrame at the same frame size (the traffic\'s own send and receive, no VTEP between them)',
  loss: '(offered - delivered) / offered',
} as const;

function check(r: PlanRun): void {
  const bad = (m: string) => new RangeError(`plan ${r.plan}: ${m}`);
  for (const [k, v] of Object.entries({ offeredFrames: r.offeredFrames, deliveredFrames: r.deliveredFrames, frameSize: r.frameSize, ...r.cpu })) {
    if (!Number.isFinite(v) || v < 0) throw bad(`${k} must be a finite number >= 0, got ${v}`);
  }
  if (!(r.durationSeconds > 0)) throw bad(`duration must be > 0 s, got ${r.durationSeconds}`);
  if (r.deliveredFrames > r.offeredFrames) throw bad(`delivered ${r.deliveredFrames} frames > offered ${r.offeredFrames}: the counters are inconsistent`);
  if (r.frameSize < 64 || r.frameSize > 16384) throw bad(`frame size ${r.frameSize} B outside 64..16384 (FCS included)`);
}

/** Idle-topology CPU from this many cores on is worth a warning. */
export const BACKGROUND_CORES_WARN = 0.05;
/** A 1-minute load average from this share of the CPUs on is worth a warning. */
export const LOADAVG_WARN_SHARE = 0.75;

/** The load warnings of a run (none without load data). */
export function loadWarnings(r: PlanRun): string[] {
  const l = r.load;
  if (!l) return [];
  const out: string[] = [];
  if (l.idleCores >= BACKGROUND_CORES_WARN) {
    out.push(`background load: ${l.idleCores.toFixed(2)} cores busy on the idle topology just before the run (${l.idleSubtracted ? 'subtracted' : 'included in the figures; --subtract-idle removes it'})`);
  }
  if (l.loadavg1 >= LOADAVG_WARN_SHARE * l.cpus) {
    out.push(`busy host: load average ${l.loadavg1.toFixed(2)} on ${l.cpus} CPUs just before the run (other work competes for the cores)`);
  }
  return out;
}

function figures(r: PlanRun): Omit<PlanFigures, 'freedVsBaseline' | 'netNsPerFrame'> {
  check(r);
  const total = r.cpu.user + r.cpu.system + r.cpu.softirq;
  const d = r.durationSeconds;
  const per = (s: number) => cpuNsPerFrame(s, r.deliveredFrames);
  const nsTotal = per(total);
  const lost = r.offeredFrames - r.deliveredFrames;
  return {
    plan: r.plan,
    frameSize: r.frameSize,
    durationSeconds: d,
    offeredFrames: r.offeredFrames,
    deliveredFrames: r.deliveredFrames,
    lostFrames: lost,
    loss: r.offeredFrames > 0 ? lost / r.offeredFrames : 0,
    offeredFps: r.offeredFrames / d,
    deliveredFps: r.deliveredFrames / d,
    lineRateShare10G: r.deliveredFrames / d / framesPerSecondAtLineRate(TEN_GBPS, r.frameSize),
    cpuSeconds: { ...r.cpu, total },
    cores: { user: coresInUse(r.cpu.user, d)!, system: coresInUse(r.cpu.system, d)!, softirq: coresInUse(r.cpu.softirq, d)!, total: coresInUse(total, d)! },
    nsPerFrame: { user: per(r.cpu.user), system: per(r.cpu.system), softirq: per(r.cpu.softirq), total: nsTotal },
    coresPer10G: coresPer10G(nsTotal, r.frameSize),
    stages: r.stages ?? [],
    notes: r.notes ?? [],
    warnings: loadWarnings(r),
  };
}

/**
 * Build the report. Runs are keyed by (plan, frame size); each is compared with
 * the baseline plan's run at the same frame size (`baseline` default: `host`
 * when present, else the first run's plan).
 */
export function buildCostReport(runs: readonly PlanRun[], opts: { baseline?: string; now?: Date } = {}): CostReport {
  if (runs.length === 0) throw new RangeError('a cost report needs at least one plan run');
  const key = (r: PlanRun) => `${r.plan}@${r.frameSize}`;
  const keys = runs.map(key);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new RangeError(`two runs of plan ${dup.replace('@', ' at ')} B: each (plan, frame size) once`);
  const names = [...new Set(runs.map((r) => r.plan))];
  const baseline = opts.baseline ?? (names.includes('host') ? 'host' : names.find((n) => n !== WIRE_PLAN) ?? names[0]);
  if (!names.includes(baseline)) throw new RangeError(`baseline plan "${baseline}" is not among the runs (${names.join(', ')})`);
  const all = runs.map(figures);
  const plans = all.map((f) => {
    const base = all.find((b) => b.plan === baseline && b.frameSize === f.frameSize);
    const wire = all.find((b) => b.plan === WIRE_PLAN && b.frameSize === f.frameSize);
    const mine = f.plan === WIRE_PLAN;
    return {
      ...f,
      freedVsBaseline: base && !mine ? freedShare(base.nsPerFrame.total, f.nsPerFrame.total) : null,
      netNsPerFrame: wire && !mine && wire.nsPerFrame.total !== null && f.nsPerFrame.total !== null ? f.nsPerFrame.total - wire.nsPerFrame.total : null,
    };
  });
  return {
    schema: 'vtepd-cost-report/1',
    generatedAt: (opts.now ?? new Date()).toISOString(),
    host: { kernel: os.release(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, hostname: os.hostname() },
    baseline,
    formulas: { ...REPORT_FORMULAS },
    plans,
  };
}

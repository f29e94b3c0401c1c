/**
 * One measured run of one offload plan, as `vtepd cost` drives it:
 *
 *   for each plan: build topology -> const s = beginPlanRun() -> offer traffic
 *                  -> const run = s.end({...}) -> tear down
 *
 * CPU is taken host-wide from /proc/stat (user+nice, system, softirq), because
 * in the kernel and NIC plans the work leaves vtepd's process; whatever the
 * driver can attribute to something else (the traffic generator's own CPU, read
 * from /proc/PID/stat) is passed as `exclude` and subtracted. Careful with
 * system time: with tick accounting (this kernel), softirq work run inside the
 * generator's syscalls counts as its stime AND as host softirq, so excluding
 * its stime removes datapath work; see docs/cost-report.md.
 */
import { performance } from 'node:perf_hooks';
import { readHostCpu, type HostCpuTimes, type TaskCpuTimes } from './proc-stat.js';

export interface PlanRun {
  /** Label of the plan (e.g. host, native, kernel). */
  plan: string;
  /** Ethernet frame size including FCS (see derive.ts). */
  frameSize: number;
  durationSeconds: number;
  offeredFrames: number;
  deliveredFrames: number;
  /** Host CPU seconds spent on the traffic, all CPUs. */
  cpu: { user: number; system: number; softirq: number };
  /** Optional per-stage ns per frame from the CostMeter (host/native plans). */
  stages?: { name: string; nsPerFrame: number | null; framesPerBatch?: number | null }[];
  /** Free-form notes (placements, rates, caveats) carried into the report. */
  notes?: string[];
  /** Load on the host around the run, from which the report's load warnings derive. */
  load?: RunLoad;
}

export interface RunLoad {
  /** 1-minute load average just before the run, and the CPU count. */
  loadavg1: number;
  cpus: number;
  /** Host CPU in cores on the idle topology just before the run (background load + idle daemons). */
  idleCores: number;
  /** Whether that idle CPU was subtracted from the figures (--subtract-idle). */
  idleSubtracted: boolean;
}

export interface PlanRunSampler {
  readonly start: HostCpuTimes;
  end(r: Omit<PlanRun, 'cpu' | 'durationSeconds'> & { exclude?: TaskCpuTimes }): PlanRun;
}

export function beginPlanRun(readHost: () => HostCpuTimes = readHostCpu): PlanRunSampler {
  const start = readHost();
  const t0 = performance.now();
  return {
    start,
    end(r) {
      const stop = readHost();
      const durationSeconds = (performance.now() - t0) / 1000;
      const ex = r.exclude ?? { user: 0, system: 0 };
      const { exclude: _x, ...rest } = r;
      return {
        ...rest,
        durationSeconds,
        cpu: {
          // Clamped: tick rounding can make the subtraction dip below zero.
          user: Math.max(0, stop.user + stop.nice - start.user - start.nice - ex.user),
          system: Math.max(0, stop.system - start.system - ex.system),
          softirq: Math.max(0, stop.softirq - start.softirq),
        },
      };
    },
  };
}

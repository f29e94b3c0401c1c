/**
 * Process-attributed CPU for `vtepd cost`: the second view of each run, for
 * hosts where other jobs make host-wide /proc/stat deltas meaningless (a
 * saturated host: the traffic's work displaces other jobs instead of adding
 * to the total). Per-task tick accounting still charges each tick to the task
 * that runs, so the traffic's cost is the sum over the tasks that do it:
 *
 *   user    = vtepd daemons' utime (host plan; 0 for kernel)
 *   system  = generator stime + daemons' stime. With tick accounting this
 *             includes the softirq the kernel runs inline at the end of their
 *             syscalls (veth -> bridge -> vxlan -> veth, usually all of it)
 *   softirq = ksoftirqd threads' time (softirq deferred out of those
 *             syscalls; shared with other jobs, so its idle rate is subtracted)
 *
 * The generator's stime (sendmmsg) is in both plans alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseTaskStat, type TaskCpuTimes } from './proc-stat.js';

let ksoftirqd: number[] | null = null;

/** PIDs of the ksoftirqd/N kernel threads (found once). */
export function ksoftirqdPids(): number[] {
  if (ksoftirqd) return ksoftirqd;
  ksoftirqd = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('ksoftirqd/')) ksoftirqd.push(Number(d));
    } catch { /* exited */ }
  }
  return ksoftirqd;
}

/** Summed user/system of the given PIDs (all threads of each). */
export function tasksCpu(pids: readonly number[]): TaskCpuTimes {
  const t = { user: 0, system: 0 };
  for (const p of pids) {
    try {
      const s = parseTaskStat(readFileSync(`/proc/${p}/stat`, 'utf8'));
      t.user += s.user;
      t.system += s.system;
    } catch { /* exited: counts nothing */ }
  }
  return t;
}

export interface AttribSample { gen: TaskCpuTimes; daemons: TaskCpuTimes; ksoftirqd: TaskCpuTimes }

export function attribSample(daemonPids: readonly number[]): AttribSample {
  return { gen: tasksCpu([process.pid]), daemons: tasksCpu(daemonPids), ksoftirqd: tasksCpu(ksoftirqdPids()) };
}

/** CPU seconds of a window from two samples; `ksoftirqdIdleRate` (cores) times `seconds` is taken off softirq. */
export function attribCpu(a: AttribSample, b: AttribSample, seconds: number, ksoftirqdIdleRate: number): { user: number; system: number; softirq: number } {
  const ks = b.ksoftirqd.user + b.ksoftirqd.system - a.ksoftirqd.user - a.ksoftirqd.system;
  return {
    user: Math.max(0, b.daemons.user - a.daemons.user),
    system: Math.max(0, b.gen.system - a.gen.system + b.daemons.system - a.daemons.system),
    softirq: Math.max(0, ks - ksoftirqdIdleRate * seconds),
  };
}

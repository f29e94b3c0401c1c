/**
 * Readers for the kernel's CPU accounting in /proc, used by the cost meter.
 *
 * /proc/stat: host-wide time per state (user, system, softirq, ...) summed over
 * all CPUs, in USER_HZ ticks. /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat:
 * utime and stime of a process or one thread, also in ticks. Everything is
 * returned in seconds so callers never see ticks.
 */
import { readFileSync, readdirSync } from 'node:fs';

/**
 * USER_HZ, the unit of /proc tick counts. It is part of the user ABI and is 100
 * on every Linux architecture Node runs on (sysconf(_SC_CLK_TCK) is not
 * reachable from Node); tests check it against `getconf CLK_TCK`.
 */
export const USER_HZ = 100;

/** The per-state columns of a /proc/stat `cpu` line, in kernel order. */
export const HOST_CPU_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;
export type HostCpuField = (typeof HOST_CPU_FIELDS)[number];

/** Host CPU time per state in seconds, summed over all CPUs; `cpus` = number of cpuN lines. */
export type HostCpuTimes = Record<HostCpuField, number> & { cpus: number };

/** Process or thread CPU time in seconds. */
export interface TaskCpuTimes {
  user: number;
  system: number;
}

export interface ThreadCpuTimes extends TaskCpuTimes {
  tid: number;
  name: string;
}

/** Parse the text of /proc/stat (the aggregate `cpu` line and the count of `cpuN` lines). */
export function parseProcStat(text: string): HostCpuTimes {
  let agg: string[] | undefined;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) agg = line.trim().split(/\s+/);
    else if (/^cpu\d+ /.test(line)) cpus++;
  }
  if (!agg) throw new Error('/proc/stat has no aggregate "cpu" line');
  const out = { cpus } as HostCpuTimes;
  HOST_CPU_FIELDS.forEach((f, i) => {
    const v = Number(agg![i + 1] ?? 0);
    if (!Number.isFinite(v)) throw new Error(`/proc/stat: bad ${f} value "${agg![i + 1]}"`);
    out[f] = v / USER_HZ;
  });
  return out;
}

export function readHostCpu(path = '/proc/stat'): HostCpuTimes {
  return parseProcStat(readFileSync(path, 'utf8'));
}

/**
 * Parse a /proc/.../stat line: `pid (comm) state ...`. comm may contain spaces
 * and parentheses, so fields are counted from the LAST ')'. utime and stime are
 * fields 14 and 15 (proc(5)), i.e. 11 and 12 after the closing parenthesis.
 */
export function parseTaskStat(text: string): ThreadCpuTimes {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: "${text.slice(0, 60)}"`);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('stat line has no utime/stime');
  return { tid: Number(text.slice(0, open)), name: text.slice(open + 1, close), user: utime / USER_HZ, system: stime / USER_HZ };
}

/** This process's CPU time (all threads) from /proc/self/stat. */
export function readSelfCpu(): ThreadCpuTimes {
  return parseTaskStat(readFileSync('/proc/self/stat', 'utf8'));
}

/**
 * The calling thread's CPU time. Synchronous fs calls run on the calling JS
 * thread, so /proc/thread-self resolves to a worker's own task (Node 20 has no
 * per-thread cpuUsage).
 */
export function readThreadCpu(): ThreadCpuTimes {
  return parseTaskStat(readFileSync('/proc/thread-self/stat', 'utf8'));
}

/** CPU time of every thread of this process (main, workers, libuv pool, V8 helpers). */
export function readThreadsCpu(pid: number | 'self' = 'self'): ThreadCpuTimes[] {
  const out: ThreadCpuTimes[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(parseTaskStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // The thread exited between readdir and read: it simply is not listed.
    }
  }
  return out;
}

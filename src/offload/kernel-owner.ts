/**
 * Which vtepd made a kernel device: its ifalias says `vtepd pid=P start=T`,
 * with T the process start time (/proc/P/stat field 22), so a recycled pid
 * never passes for the daemon that made the device. After a `kill -9` the
 * devices stay with an alias whose process is gone: the next vtepd knows
 * they are its own leftovers (adopt or rebuild them), while a device with no
 * such alias is somebody else's and is never touched.
 */
import { readFileSync } from 'node:fs';

export interface Owner { pid: number; start: string }

const ALIAS_RE = /^vtepd pid=(\d+) start=(\d+)\b/;

/** Start time of a process in clock ticks since boot, or null when it does not exist. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields are counted after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** This process as an owner. */
export function selfOwner(): Owner {
  return { pid: process.pid, start: startTime(process.pid) ?? '0' };
}

/** The ifalias vtepd writes on a device it creates (`extra` says what the device is for). */
export function ownerAlias(o: Owner, extra = ''): string {
  return `vtepd pid=${o.pid} start=${o.start}${extra ? ` ${extra}` : ''}`;
}

export function parseOwner(alias: string | null | undefined): Owner | null {
  const m = ALIAS_RE.exec(alias ?? '');
  return m ? { pid: Number(m[1]), start: m[2] } : null;
}

/** Whether the owner process still runs (same pid and start time). */
export function ownerAlive(o: Owner): boolean {
  return startTime(o.pid) === o.start;
}

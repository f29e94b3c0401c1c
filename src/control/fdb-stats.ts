/**
 * `fdb.stats`: the MAC table's size against its limits, as OVS's
 * `fdb/stats-show` reports them: current and maximum entries, static and
 * learned, and each per-port and per-remote limit with its usage, plus the
 * learning counters (learned, moved, aged) summed over the networks. Built from
 * one pass over the entries (the same stream `fdb.show` sends).
 */
import type { FdbEntryJson } from './fdb-entry.js';
import type { NetworkStats } from './stats.js';

export interface FdbLimits { maxEntries: number; perPortLimit: number; perRemoteLimit: number; full: string; ageing: number }

export interface FdbStats {
  entries: number;
  maxEntries: number;
  /** entries / maxEntries, in percent. */
  usedPercent: number;
  static: number;
  learned: number;
  full: string;
  ageingSeconds: number;
  /** Learning counters since start, all networks. */
  counters: { learned: number; moved: number; aged: number };
  networks: { vni: number; entries: number }[];
  /** Entries behind each local port / remote VTEP, with the limit (0 = none). */
  ports: { port: string; entries: number; limit: number }[];
  remotes: { remote: string; entries: number; limit: number }[];
}

export function fdbStats(entries: Iterable<FdbEntryJson>, limits: FdbLimits, networks: readonly NetworkStats[]): FdbStats {
  let total = 0;
  let statics = 0;
  const byVni = new Map<number, number>();
  const byPort = new Map<string, number>();
  const byRemote = new Map<string, number>();
  for (const n of networks) byVni.set(n.vni, 0);
  for (const e of entries) {
    total++;
    if (e.static) statics++;
    byVni.set(e.vni, (byVni.get(e.vni) ?? 0) + 1);
    if (e.port !== null) byPort.set(e.port, (byPort.get(e.port) ?? 0) + 1);
    if (e.remote !== null) byRemote.set(e.remote, (byRemote.get(e.remote) ?? 0) + 1);
  }
  const sum = (k: 'learned' | 'moved' | 'aged') => networks.reduce((a, n) => a + n[k], 0);
  return {
    entries: total,
    maxEntries: limits.maxEntries,
    usedPercent: limits.maxEntries > 0 ? Math.round((1000 * total) / limits.maxEntries) / 10 : 0,
    static: statics,
    learned: total - statics,
    full: limits.full,
    ageingSeconds: limits.ageing,
    counters: { learned: sum('learned'), moved: sum('moved'), aged: sum('aged') },
    networks: [...byVni].sort((a, b) => a[0] - b[0]).map(([vni, n]) => ({ vni, entries: n })),
    ports: [...byPort].sort().map(([port, n]) => ({ port, entries: n, limit: limits.perPortLimit })),
    remotes: [...byRemote].sort().map(([remote, n]) => ({ remote, entries: n, limit: limits.perRemoteLimit })),
  };
}

/** The text form, one fact per line. */
export function formatFdbStats(s: FdbStats): string {
  const lim = (n: number, l: number) => (l > 0 ? `${n}/${l}` : `${n} (no limit)`);
  const lines = [
    `entries: ${s.entries}/${s.maxEntries} (${s.usedPercent}% used; when full: ${s.full})`,
    `  static ${s.static}, learned ${s.learned}; ageing ${s.ageingSeconds} s`,
    `since start: learned ${s.counters.learned}, moved ${s.counters.moved}, aged ${s.counters.aged}`,
    ...s.networks.map((n) => `vni ${n.vni}: ${n.entries}`),
    ...s.ports.map((p) => `port ${p.port}: ${lim(p.entries, p.limit)}`),
    ...s.remotes.map((r) => `remote ${r.remote}: ${lim(r.entries, r.limit)}`),
  ];
  return lines.join('\n') + '\n';
}

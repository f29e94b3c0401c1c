/**
 * MAC table handover across a reload: the entries of the old table whose
 * network (VNI) and place (port, remote VTEP) still exist move into the new
 * table, keyed by what stays the same across configs (VNI, port key, remote
 * address), not by indices, which a new config may renumber. Carried entries
 * keep their age stamp and static flag, and are not counted as learned again
 * (the old table's counters are carried by the daemon's stats).
 */
import type { BridgeDomains } from './bridge-domain.js';
import { parseAddrWords } from './bridge-domain.js';
import { localPlace, remotePlace, type MacTable } from './mac-table.js';

export interface TableSide {
  table: MacTable;
  domains: BridgeDomains;
}

/**
 * Copy `from`'s entries into `to`. `portOf` maps a port index of the old
 * table to the new table's index of the same device, or undefined when that
 * device is gone. Returns the number of entries carried.
 */
export function handOver(from: TableSide, to: TableSide, portOf: (oldIndex: number) => number | undefined): number {
  let n = 0;
  const { table, domains } = to;
  for (const e of from.table.dump()) {
    const dom = domains.domainOfVni(from.domains.vni[e.domain]);
    if (dom < 0) continue;
    let place: number;
    if (e.remote) {
      const [w0, w1, w2, w3, v6] = parseAddrWords(from.domains.remoteIp(e.out));
      const r = domains.remoteIndex(w0, w1, w2, w3, v6);
      if (r < 0 || domains.remotePosition(dom, r) < 0) continue;
      place = remotePlace(r);
    } else {
      const p = portOf(e.out);
      if (p === undefined || domains.portTagOf(dom, p) < 0) continue;
      place = localPlace(p);
    }
    const ok = e.static ? table.addStatic(dom, e.macHi, e.macLo, place, e.stamp) : table.restore(dom, e.macHi, e.macLo, place, e.stamp);
    if (ok) n++;
  }
  return n;
}

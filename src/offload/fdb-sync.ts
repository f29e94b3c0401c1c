/**
 * Desired-vs-actual diff for the FDB vtepd mirrors into the kernel (control
 * path, not per packet, so string keys are fine here). An entry is either
 *  - remote: MAC reached through remote VTEP `dst` (vxlan device, `self`);
 *    the all-zero MAC lists the flood (head-end replication) targets;
 *  - local: MAC pinned to local bridge port `port` (bridge, `master static`).
 */

export const FLOOD_MAC = '00:00:00:00:00:00';

export interface KernelFdbEntry {
  mac: string;
  dst?: string;
  port?: string;
}

export interface FdbDiff {
  add: KernelFdbEntry[];
  del: KernelFdbEntry[];
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Canonical form (lower-case MAC); throws on entries that are neither remote nor local. */
export function normalizeEntry(e: KernelFdbEntry): KernelFdbEntry {
  const mac = e.mac.toLowerCase();
  if (!MAC_RE.test(mac)) throw new Error(`bad MAC "${e.mac}" in FDB entry`);
  if ((e.dst === undefined) === (e.port === undefined)) throw new Error(`FDB entry ${mac} needs exactly one of dst (remote VTEP) or port (local port)`);
  if (mac === FLOOD_MAC && e.port !== undefined) throw new Error('the all-zero MAC is for flood remotes only (dst), not a local port');
  return e.dst !== undefined ? { mac, dst: e.dst } : { mac, port: e.port };
}

export function entryKey(e: KernelFdbEntry): string {
  return e.dst !== undefined ? `${e.mac} dst ${e.dst}` : `${e.mac} port ${e.port}`;
}

/** Entries to add and to delete so that `actual` becomes `desired` (order kept, duplicates collapsed). */
export function diffFdb(desired: readonly KernelFdbEntry[], actual: readonly KernelFdbEntry[]): FdbDiff {
  const want = new Map(desired.map((e) => normalizeEntry(e)).map((e) => [entryKey(e), e]));
  const have = new Map(actual.map((e) => normalizeEntry(e)).map((e) => [entryKey(e), e]));
  return {
    add: [...want].filter(([k]) => !have.has(k)).map(([, e]) => e),
    del: [...have].filter(([k]) => !want.has(k)).map(([, e]) => e),
  };
}

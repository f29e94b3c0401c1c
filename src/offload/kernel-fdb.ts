/**
 * The FDB of a kernel VTEP (vxlan device + bridge) as iproute2 reports it,
 * parsed once: `bridge -j -s fdb show br BRIDGE` rows become entries that say
 * where a MAC is (behind a remote VTEP on the vxlan device, or on a bridge
 * port), whether vtepd pinned it (static) or the kernel learned it, and its age.
 * The flood list (all-zero MAC) and the ports' own addresses are left out.
 */
import { iproute, iprouteJson, IprouteError, type IprouteOptions } from './iproute.js';
import { FLOOD_MAC } from './fdb-sync.js';

export interface KernelFdbRow {
  mac: string;
  /** Remote VTEP address (entry on the vxlan device), or null for a bridge port entry. */
  dst: string | null;
  /** Bridge port interface, or null for a remote entry. */
  port: string | null;
  /** Pinned by vtepd (remote: `permanent`, port: `static`); otherwise learned by the kernel. */
  static: boolean;
  ageSeconds: number;
}

export interface FdbRowRaw { mac: string; ifname?: string; dst?: string; master?: string; flags?: string[]; state?: string; updated?: number; protocol?: string }

/** Installed by another control plane (FRR's zebra with EVPN: `extern_learn`, `proto zebra`): vtepd never deletes it. */
export function isForeign(r: { flags?: string[]; protocol?: string }): boolean {
  return (r.flags ?? []).includes('extern_learn') || r.protocol === 'zebra';
}

export interface VtepNames { vxlan: string; bridge: string; ports: readonly string[] }

/** Entries of the bridge and its vxlan device (learned and static). */
export async function readKernelFdb(v: VtepNames, io: IprouteOptions = {}): Promise<KernelFdbRow[]> {
  const rows = await iprouteJson<FdbRowRaw>('bridge', ['-s', 'fdb', 'show', 'br', v.bridge], io);
  const ports = new Set(v.ports);
  const out: KernelFdbRow[] = [];
  for (const r of rows) {
    const mac = r.mac.toLowerCase();
    if (r.ifname === v.vxlan && r.dst !== undefined && (r.flags ?? []).includes('self')) {
      if (mac === FLOOD_MAC) continue;
      const pinned = r.state === 'permanent';
      out.push({ mac, dst: r.dst, port: null, static: pinned, ageSeconds: pinned ? 0 : r.updated ?? 0 });
    } else if (r.master === v.bridge && r.ifname !== undefined && ports.has(r.ifname) && r.state !== 'permanent') {
      const pinned = r.state === 'static';
      out.push({ mac, dst: null, port: r.ifname, static: pinned, ageSeconds: pinned ? 0 : r.updated ?? 0 });
    }
  }
  return out;
}

/**
 * Delete what the kernel learned for `mac`: behind remotes (vxlan device)
 * and/or on bridge ports. Entries that aged out meanwhile are not an error.
 * Returns how many entries went.
 */
export async function deleteLearned(v: VtepNames, mac: string, which: { remote?: boolean; ports?: boolean }, io: IprouteOptions = {}): Promise<number> {
  const ports = new Set(v.ports);
  let removed = 0;
  for (const r of await iprouteJson<FdbRowRaw>('bridge', ['fdb', 'show', 'br', v.bridge], io)) {
    if (r.mac.toLowerCase() !== mac || r.ifname === undefined) continue;
    if (r.state === 'permanent' || r.state === 'static' || isForeign(r)) continue;
    try {
      if (which.remote && r.ifname === v.vxlan && r.dst !== undefined) {
        await iproute('bridge', ['fdb', 'del', mac, 'dev', v.vxlan, 'dst', r.dst, 'self'], io);
        removed++;
      } else if (which.remote && r.ifname === v.vxlan && r.master === v.bridge) {
        // The bridge's own record of the vxlan port: goes with the entry above, not counted twice.
        await iproute('bridge', ['fdb', 'del', mac, 'dev', v.vxlan, 'master'], io);
      } else if (which.ports && r.master === v.bridge && ports.has(r.ifname)) {
        await iproute('bridge', ['fdb', 'del', mac, 'dev', r.ifname, 'master'], io);
        removed++;
      }
    } catch (err) {
      if (!(err instanceof IprouteError && /No such file|not found/i.test(err.stderr))) throw err;
    }
  }
  return removed;
}

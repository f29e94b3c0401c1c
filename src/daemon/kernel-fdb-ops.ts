/**
 * Kernel mode's FDB operations and port counters, on the networks the
 * backend (kernel-backend.ts) runs: `fdb show` reads the kernel's table,
 * `fdb add` pins a static entry (kept in the statics map, mirrored by
 * KernelVtep.sync), `fdb del` unpins it or deletes what the kernel learned,
 * `fdb flush` deletes learned entries. User mistakes are ControlErrors.
 */
import type { NetworkConfig, StaticFdbEntry } from '../config/config-schema.js';
import { ControlError } from '../control/control-server.js';
import type { FdbEntryJson } from '../control/fdb-entry.js';
import type { PortStats } from '../control/stats.js';
import type { KernelFdbEntry } from '../offload/fdb-sync.js';
import type { LinkState } from '../offload/kernel-links.js';
import type { KernelVtep } from '../offload/kernel-vtep.js';
import type { FdbFlushFilter } from './backend.js';
import { staticKey, type Static } from './kernel-statics.js';

/** One network and the kernel devices that carry it. */
export interface Net {
  cfg: NetworkConfig;
  vtep: KernelVtep;
  /** JSON of the KernelVtepSpec: a different key means the devices must be rebuilt. */
  key: string;
  ageing: number;
  /** Port interface → config port name. */
  names: Map<string, string>;
}

type Desired = (n: Net) => { floodRemotes: string[]; entries: KernelFdbEntry[] };

export function netOf(nets: Map<number, Net>, vni: number): Net {
  const n = nets.get(vni);
  if (n === undefined) throw new ControlError(`no network with VNI ${vni}`);
  return n;
}

/** Bridge ports and vxlan devices with their kernel counters. */
export function kernelPorts(nets: Iterable<Net>, links: Map<string, LinkState>): PortStats[] {
  const row = (s: LinkState | undefined, name: string, iface: string, backend: string, role: PortStats['role'], vni: number): PortStats => ({
    name, interface: iface, backend, role, vni, vlan: null, up: s?.up ?? false,
    rxPackets: s?.rx.packets ?? 0, rxBytes: s?.rx.bytes ?? 0, txPackets: s?.tx.packets ?? 0, txBytes: s?.tx.bytes ?? 0,
    drops: (s?.rx.dropped ?? 0) + (s?.tx.dropped ?? 0), kernelDrops: 0,
  });
  const out: PortStats[] = [];
  for (const n of nets) {
    for (const [iface, name] of n.names) out.push(row(links.get(iface), name, iface, 'bridge', 'local', n.cfg.vni));
    out.push(row(links.get(n.vtep.vxlan), n.vtep.vxlan, n.vtep.vxlan, 'vxlan', 'underlay', n.cfg.vni));
  }
  return out;
}

/** The kernel's FDB as `fdb show` entries (ports by their config names). */
export async function showFdb(nets: Map<number, Net>, vni?: number): Promise<FdbEntryJson[]> {
  const out: FdbEntryJson[] = [];
  for (const n of vni === undefined ? nets.values() : [netOf(nets, vni)]) {
    for (const r of await n.vtep.fdbEntries()) {
      out.push({ vni: n.cfg.vni, vlan: null, mac: r.mac, port: r.port === null ? null : n.names.get(r.port) ?? r.port, remote: r.dst, static: r.static, ageSeconds: r.ageSeconds });
    }
  }
  return out;
}

/** Pin `e` (by port name or interface, or behind a remote of the network); returns the entry as stored. */
export async function addStatic(n: Net, statics: Map<string, Static>, e: StaticFdbEntry, desired: Desired): Promise<StaticFdbEntry> {
  let entry: StaticFdbEntry;
  if (e.port !== undefined) {
    const name = n.names.get(e.port) ?? (n.cfg.ports.includes(e.port) ? e.port : undefined);
    if (name === undefined) throw new ControlError(`port ${e.port} is not a member of VNI ${e.vni}`);
    entry = { vni: e.vni, mac: e.mac, port: name };
  } else {
    if (!n.cfg.remotes.includes(e.remote!)) throw new ControlError(`${e.remote} is not a remote VTEP of VNI ${e.vni}`);
    entry = { vni: e.vni, mac: e.mac, remote: e.remote };
  }
  const k = staticKey(e.vni, e.mac);
  const before = statics.get(k);
  statics.set(k, { e: entry, runtime: true });
  try {
    await n.vtep.sync(desired(n));
  } catch (err) {
    if (before) statics.set(k, before);
    else statics.delete(k);
    throw err;
  }
  // A learned entry on the other side would shadow the static one (or the reverse): clear it.
  await n.vtep.deleteLearned(e.mac, e.remote !== undefined ? { ports: true } : { remote: true });
  return entry;
}

/** Unpin a static entry (returned), or delete what the kernel learned for `mac` (null). */
export async function delEntry(n: Net, statics: Map<string, Static>, mac: string, desired: Desired): Promise<Static | null> {
  const k = staticKey(n.cfg.vni, mac);
  const s = statics.get(k);
  if (s !== undefined) {
    statics.delete(k);
    try {
      await n.vtep.sync(desired(n));
    } catch (err) {
      statics.set(k, s);
      throw err;
    }
    return s;
  }
  if ((await n.vtep.deleteLearned(mac, { remote: true, ports: true })) === 0) throw new ControlError(`no FDB entry for ${mac} in VNI ${n.cfg.vni}`);
  return null;
}

/** Delete learned entries matching the filter; returns how many. */
export async function flushLearned(nets: Map<number, Net>, f: FdbFlushFilter): Promise<number> {
  const chosen = f.vni === undefined ? [...nets.values()] : [netOf(nets, f.vni)];
  let portIface: string | undefined;
  if (f.port !== undefined) {
    for (const n of nets.values()) for (const [iface, name] of n.names) if (name === f.port || iface === f.port) portIface = iface;
    if (portIface === undefined) throw new ControlError(`no port named ${f.port}`);
  }
  if (f.remote !== undefined && ![...nets.values()].some((n) => n.cfg.remotes.includes(f.remote!))) {
    throw new ControlError(`${f.remote} is not a remote VTEP of any network`);
  }
  let removed = 0;
  for (const n of chosen) {
    for (const r of await n.vtep.fdbEntries()) {
      if (r.static) continue;
      if (portIface !== undefined && r.port !== portIface) continue;
      if (f.remote !== undefined && r.dst !== f.remote) continue;
      removed += await n.vtep.deleteLearned(r.mac, r.dst !== null ? { remote: true } : { ports: true });
    }
  }
  return removed;
}

/**
 * Kernel mode's static FDB entries: those of `fdb.static` and those added at
 * run time through the control socket (`vtepd fdb add`, a control plane).
 * Runtime entries survive a reload while their network and port or remote
 * still exist. What is desired for one network is computed here; putting it
 * into the kernel is KernelVtep.sync's job.
 */
import type { StaticFdbEntry, VtepdConfig } from '../config/config-schema.js';
import type { KernelFdbEntry } from '../offload/fdb-sync.js';

/** A static entry and where it came from. */
export interface Static { e: StaticFdbEntry; runtime: boolean }

export const staticKey = (vni: number, mac: string): string => `${vni}/${mac.toLowerCase()}`;

/** fdb.static of `cfg`, keyed by VNI and MAC (later entries win, as in the userspace table). */
export function configStatics(cfg: VtepdConfig): Map<string, Static> {
  const out = new Map<string, Static>();
  for (const e of cfg.fdb.static) out.set(staticKey(e.vni, e.mac), { e: { ...e, mac: e.mac.toLowerCase() }, runtime: false });
  return out;
}

/** The new config's statics plus the runtime ones that still fit (their network, port or remote still exists). */
export function carryStatics(cfg: VtepdConfig, prev: Map<string, Static>): { statics: Map<string, Static>; dropped: StaticFdbEntry[] } {
  const statics = configStatics(cfg);
  const dropped: StaticFdbEntry[] = [];
  for (const [k, s] of prev) {
    if (!s.runtime) continue;
    const n = cfg.networks.find((x) => x.vni === s.e.vni);
    const fits = n !== undefined && (s.e.port !== undefined ? n.ports.includes(s.e.port) : n.remotes.includes(s.e.remote!));
    if (!fits) dropped.push(s.e);
    else if (!statics.has(k)) statics.set(k, s);
  }
  return { statics, dropped };
}

/** What the kernel FDB of network `vni` should hold: its flood list and static entries (ports by interface). */
export function desiredFdb(statics: Map<string, Static>, vni: number, remotes: string[], ifaceOf: Map<string, string>): { floodRemotes: string[]; entries: KernelFdbEntry[] } {
  const entries: KernelFdbEntry[] = [];
  for (const { e } of statics.values()) {
    if (e.vni !== vni) continue;
    entries.push(e.remote !== undefined ? { mac: e.mac, dst: e.remote } : { mac: e.mac, port: ifaceOf.get(e.port!) ?? e.port });
  }
  return { floodRemotes: remotes, entries };
}

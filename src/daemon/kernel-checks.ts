/**
 * Kernel mode: what makes a config unfit for this host, checked before any
 * device is touched (start: exit 2; reload: refused as a whole), and which
 * settings have no kernel counterpart (logged once, ignored).
 */
import { configSchema, type VtepdConfig } from '../config/config-schema.js';
import { missingInterfaces } from '../config/host-check.js';
import type { Avail, KernelLinkType } from '../offload/host-probe.js';
import { readLinks, type LinkState } from '../offload/kernel-links.js';
import { ownerAlive, parseOwner } from '../offload/kernel-owner.js';
import { kernelHostProblems } from '../pipeline/run-plan.js';

/** Who holds a device: a live vtepd (with its pid), a vtepd that is gone (its leftovers may be taken over), or somebody else. */
function holder(l: LinkState | undefined): { kind: 'vtepd'; pid: number } | { kind: 'leftover' } | { kind: 'other' } {
  const o = parseOwner(l?.alias);
  if (o === null) return { kind: 'other' };
  return ownerAlive(o) ? { kind: 'vtepd', pid: o.pid } : { kind: 'leftover' };
}

/**
 * Problems of `cfg` on this host: link types the kernel lacks, interfaces that
 * do not exist, ports held by another master, device names taken by somebody
 * else. `ours`: the bridges this daemon runs now (a reload keeps them).
 */
export async function kernelProblems(cfg: VtepdConfig, kinds: Record<KernelLinkType, Avail>, ours: Set<string>): Promise<string[]> {
  const out = [...kernelHostProblems(cfg, kinds), ...missingInterfaces(cfg)];
  const links = await readLinks();
  const used = new Set(cfg.networks.flatMap((n) => n.ports));
  cfg.ports.forEach((p, i) => {
    const l = links.get(p.interface);
    if (!used.has(p.name) || l === undefined || l.master === null || ours.has(l.master)) return;
    const at = `ports[${i}] (${p.name})`;
    const h = holder(links.get(l.master));
    if (h.kind === 'vtepd') out.push(`${at}: interface ${p.interface} is in ${l.master} of a running vtepd (pid ${h.pid})`);
    else if (h.kind === 'other') out.push(`${at}: interface ${p.interface} is already enslaved to ${l.master}; vtepd does not take ports from another master (release it with "ip link set ${p.interface} nomaster")`);
  });
  cfg.networks.forEach((n, i) => {
    for (const dev of [`vtx${n.vni}`, `vtb${n.vni}`]) {
      if (ours.has(`vtb${n.vni}`) || !links.has(dev)) continue;
      const h = holder(links.get(dev));
      const at = `networks[${i}] (vni ${n.vni})`;
      if (h.kind === 'vtepd') out.push(`${at}: ${dev} belongs to a running vtepd (pid ${h.pid})`);
      else if (h.kind === 'other') out.push(`${at}: ${dev} already exists and was not made by vtepd; remove it with "ip link del ${dev}" or use another VNI`);
    }
  });
  return out;
}

const fdbDefaults = configSchema.properties.fdb.properties;

/** Settings the kernel data path does not carry out (logged once at start). */
export function ignoredSettings(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  const f = cfg.fdb;
  if (f.maxEntries !== fdbDefaults.maxEntries.default) out.push('fdb.maxEntries');
  if (f.perPortLimit !== fdbDefaults.perPortLimit.default) out.push('fdb.perPortLimit');
  if (f.perRemoteLimit !== fdbDefaults.perRemoteLimit.default) out.push('fdb.perRemoteLimit');
  if (f.full !== fdbDefaults.full.default) out.push('fdb.full');
  if (cfg.batch.size !== configSchema.properties.batch.properties.size.default) out.push('batch.size');
  if (cfg.underlay.mtu !== configSchema.properties.underlay.properties.mtu.default) out.push('underlay.mtu (the vxlan device takes the underlay MTU minus its overhead)');
  if (cfg.underlay.nextHopMac !== undefined) out.push('underlay.nextHopMac (the kernel resolves next hops itself)');
  const unused = cfg.ports.filter((p) => !cfg.networks.some((n) => n.ports.includes(p.name))).map((p) => p.name);
  if (unused.length > 0) out.push(`ports not in any network: ${unused.join(', ')}`);
  return out;
}

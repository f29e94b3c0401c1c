/**
 * Which placements this host offers for each function (and tunnel type), with
 * the reason either way. Pure: reads only the HostCapabilities probed once by
 * host-probe.ts, so the plan validator and `vtepd offload probe` agree and
 * tests can feed it any host.
 */
import { OFFLOAD_FUNCTIONS, PLACEMENTS, PLAN_TUNNEL_TYPES, NATIVE_EXPORTS, type OffloadFunction, type Placement, type PlanTunnelType } from './plan-schema.js';
import type { Avail, HostCapabilities, KernelLinkType } from './host-probe.js';
import { nicFeature } from './ethtool.js';

/** Kernel device that does each tunnel's encap/decap (NVGRE = gretap with a key). */
export const KERNEL_TUNNEL_DEVICE: Record<PlanTunnelType, KernelLinkType> = { vxlan: 'vxlan', geneve: 'geneve', nvgre: 'gretap' };

/** ethtool flags a NIC must report for segmentation of each tunnel type (either one). */
const NIC_SEGMENTATION: Record<PlanTunnelType, readonly string[]> = {
  vxlan: ['tx-udp_tnl-segmentation', 'tx-udp_tnl-csum-segmentation'],
  geneve: ['tx-udp_tnl-segmentation', 'tx-udp_tnl-csum-segmentation'],
  nvgre: ['tx-gre-segmentation', 'tx-gre-csum-segmentation'],
};

/** Functions whose availability depends on the tunnel type. */
export function perTunnel(fn: OffloadFunction): boolean {
  return fn === 'segmentation' || fn === 'encap-decap';
}

function both(a: Avail, b: Avail): Avail {
  if (a.ok && b.ok) return { ok: true, reason: `${a.reason}; ${b.reason}` };
  return { ok: false, reason: [a, b].filter((x) => !x.ok).map((x) => x.reason).join('; ') };
}

function native(caps: HostCapabilities, names: readonly string[], what: string): Avail {
  if (!caps.native.loaded) return { ok: false, reason: caps.native.reason };
  const missing = names.filter((n) => !caps.native.exports.includes(n));
  if (missing.length === 0) return { ok: true, reason: `addon exports ${names.join(', ')}` };
  return { ok: false, reason: `the native addon has no ${what} (missing export${missing.length > 1 ? 's' : ''} ${missing.join(', ')})` };
}

function nicFlow(caps: HostCapabilities, what: string): Avail {
  const flower = caps.kernel.tcFlower.ok ? { ok: true, reason: 'tc flower built' } : caps.kernel.tcFlower;
  return both(flower, nicFeature(caps.nic, ['hw-tc-offload'], what));
}

/** Availability of `placement` for `fn` (tunnel `tunnel` where it matters). */
/** Tunnel types the xdp programs encapsulate and decapsulate today. */
export const XDP_TUNNELS: readonly PlanTunnelType[] = ['vxlan', 'geneve', 'nvgre'];

function xdp(caps: HostCapabilities, fn: OffloadFunction, tunnel: PlanTunnelType): Avail {
  if (fn === 'checksum' || fn === 'segmentation') {
    return { ok: false, reason: `xdp places encap-decap and forwarding-learning; its programs write the outer IP and UDP checksums themselves and never segment (${fn}: host)` };
  }
  const progs = caps.xdp ?? { ok: false, reason: 'not probed' };
  if (!progs.ok) return progs;
  if (fn === 'encap-decap' && !XDP_TUNNELS.includes(tunnel)) return { ok: false, reason: `the xdp programs do not handle ${tunnel} yet (only ${XDP_TUNNELS.join(', ')})` };
  return progs;
}

export function availability(caps: HostCapabilities, fn: OffloadFunction, placement: Placement, tunnel: PlanTunnelType = 'vxlan'): Avail {
  if (placement === 'host') return { ok: true, reason: 'TypeScript fast path (always available)' };
  if (placement === 'xdp') return xdp(caps, fn, tunnel);
  switch (fn) {
    case 'checksum':
      if (placement === 'native') return native(caps, NATIVE_EXPORTS.checksum, 'checksum');
      if (placement === 'kernel') return caps.kernel.vnetHdr;
      return nicFeature(caps.nic, ['tx-checksum-ip-generic'], 'generic (inner) checksum offload');
    case 'segmentation':
      if (placement === 'native') return native(caps, NATIVE_EXPORTS.segmentation, 'segmentation');
      if (placement === 'kernel') return caps.kernel.vnetHdr;
      return nicFeature(caps.nic, NIC_SEGMENTATION[tunnel], `${tunnel} segmentation offload`);
    case 'encap-decap':
      if (placement === 'native') return native(caps, NATIVE_EXPORTS['encap-decap'][tunnel], `${tunnel} encap/decap`);
      if (placement === 'kernel') return caps.kernel[KERNEL_TUNNEL_DEVICE[tunnel]];
      return nicFlow(caps, `${tunnel} encap/decap flow offload`);
    case 'forwarding-learning':
      if (placement === 'native') return native(caps, NATIVE_EXPORTS['forwarding-learning'], 'forwarding/learning');
      if (placement === 'kernel') return caps.kernel.bridge;
      return nicFlow(caps, 'L2 forwarding flow offload');
  }
}

export interface AvailabilityRow {
  function: OffloadFunction;
  tunnel: PlanTunnelType | null;
  placements: Record<Placement, Avail>;
}

/** The whole matrix: one row per function, or per function and tunnel type where that matters. */
export function availabilityMatrix(caps: HostCapabilities): AvailabilityRow[] {
  const rows: AvailabilityRow[] = [];
  for (const fn of OFFLOAD_FUNCTIONS) {
    for (const tunnel of perTunnel(fn) ? PLAN_TUNNEL_TYPES : [null]) {
      const placements = {} as Record<Placement, Avail>;
      for (const p of PLACEMENTS) placements[p] = availability(caps, fn, p, tunnel ?? 'vxlan');
      rows.push({ function: fn, tunnel, placements });
    }
  }
  return rows;
}

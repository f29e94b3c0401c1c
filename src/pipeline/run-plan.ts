/**
 * Which offload placements `vtepd run` can carry out itself, and the stage
 * implementation each one selects. The daemon's data path lives in vtepd, so
 * a plan for it places encap/decap and forwarding/learning in TypeScript
 * (`host`) or in the addon's C (`native`); the outer checksums can also be
 * handed to the kernel through the AF_PACKET underlay's virtio-net header.
 * Plans whose data path is the kernel's or the NIC's are refused here with
 * what to use instead: nothing is quietly done in software.
 */
import { PLAN_RULES } from '../offload/plan.js';
import { availability } from '../offload/availability.js';
import { probeNative, type HostCapabilities } from '../offload/host-probe.js';
import type { OffloadPlan } from '../offload/plan-schema.js';
import type { VtepdConfig } from '../daemon/config-schema.js';

/** Config-time problems of cfg.offload for `vtepd run` (no host probing). */
export function runPlanProblems(cfg: VtepdConfig): string[] {
  const p = cfg.offload;
  const out: string[] = [];
  for (const r of PLAN_RULES) if (r.test(p)) out.push(`offload: ${r.message(p)}`);
  for (const fn of ['encap-decap', 'forwarding-learning'] as const) {
    if (p[fn] === 'kernel' || p[fn] === 'nic') {
      out.push(`offload.${fn}: ${p[fn]} puts the data path outside vtepd, which \`vtepd run\` does not drive; ` +
        `run it with host or native here, and measure the kernel datapath with \`vtepd cost --plans kernel\``);
    }
  }
  if (p.segmentation !== 'host') {
    out.push(`offload.segmentation: ${p.segmentation}: vtepd's ports never take GSO super-frames (TAP offloads stay off), ` +
      'so there is nothing to segment; frames over the underlay MTU are dropped as mtu-exceeded. Use host');
  }
  if (p.checksum === 'nic') out.push('offload.checksum: nic: the NIC computes checksums only behind the kernel datapath; use host, native or kernel');
  if (p.checksum === 'kernel' && cfg.underlay.transport !== 'afpacket') {
    out.push(`offload.checksum: kernel needs underlay.transport afpacket (the virtio-net header rides on the AF_PACKET socket), not ${cfg.underlay.transport}`);
  }
  return out;
}

/** Problems of cfg.offload on this host: the native addon must export what `native` placements call. */
export function runPlanHostProblems(cfg: VtepdConfig, native: HostCapabilities['native'] = probeNative()): string[] {
  const p = cfg.offload;
  if (!Object.values(p).includes('native')) return [];
  const caps = { native } as HostCapabilities;
  const out: string[] = [];
  const types = [...new Set(cfg.networks.map((n) => n.type))];
  if (p['encap-decap'] === 'native') {
    for (const t of types) {
      const a = availability(caps, 'encap-decap', 'native', t);
      if (!a.ok) out.push(`offload.encap-decap: native for ${t} is not available: ${a.reason}`);
    }
  }
  for (const fn of ['forwarding-learning', 'checksum'] as const) {
    if (p[fn] !== 'native') continue;
    const a = availability(caps, fn, 'native');
    if (!a.ok) out.push(`offload.${fn}: native is not available: ${a.reason}`);
  }
  return out;
}

/** One line naming the placements, for logs and `vtepd stats`. */
export function describePlan(p: OffloadPlan): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');
}

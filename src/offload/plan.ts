/**
 * Offload plan parser/validator. Input: the plain `offload` object from the
 * config. Checks, in order, and reports EVERY problem at once:
 *  1. shape (offloadPlanSchema: known functions, known placements);
 *  2. availability on this host for each tunnel type the config uses
 *     (availability.ts; e.g. kernel geneve on a kernel without geneve);
 *  3. combinations that cannot work together (PLAN_RULES).
 * Nothing impossible is quietly done in software instead.
 */
import { Ajv } from 'ajv';
import { OFFLOAD_FUNCTIONS, PLACEMENTS, offloadPlanSchema, type OffloadPlan, type PlanTunnelType, type Placement } from './plan-schema.js';
import { availability, perTunnel } from './availability.js';
import type { HostCapabilities } from './host-probe.js';

export class PlanError extends Error {
  constructor(readonly problems: string[]) {
    super(`offload plan refused:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PlanError';
  }
}

const OFFLOADED: readonly Placement[] = ['kernel', 'nic'];
const inVtepd = (p: Placement) => p === 'host' || p === 'native';

/** Combinations that cannot work, whatever the host: [broken when, why]. */
export const PLAN_RULES: readonly { test: (p: OffloadPlan) => boolean; message: (p: OffloadPlan) => string }[] = [
  {
    // The kernel/NIC datapath picks the remote VTEP itself, and frames it forwards never return to vtepd.
    test: (p) => (OFFLOADED.includes(p['encap-decap']) || OFFLOADED.includes(p['forwarding-learning'])) && p['encap-decap'] !== p['forwarding-learning'],
    message: (p) =>
      `encap-decap: ${p['encap-decap']} with forwarding-learning: ${p['forwarding-learning']} cannot work together: ` +
      (inVtepd(p['encap-decap'])
        ? `frames the ${p['forwarding-learning']} forwards never come back to vtepd's ${p['encap-decap']} encap stage`
        : `the ${p['encap-decap']} tunnel device chooses the remote VTEP from its own FDB, so a forwarding decision made in ${p['forwarding-learning'] === 'nic' ? 'the NIC' : `vtepd (${p['forwarding-learning']})`} would be ignored`) +
      `; put both on ${OFFLOADED.includes(p['encap-decap']) ? p['encap-decap'] : p['forwarding-learning']}, or both in vtepd (host/native)`,
  },
  {
    // The xdp programs forward on their own FDB map and encapsulate what they forward: one without the other has no meaning.
    test: (p) => (p['encap-decap'] === 'xdp') !== (p['forwarding-learning'] === 'xdp'),
    message: (p) =>
      `encap-decap: ${p['encap-decap']} with forwarding-learning: ${p['forwarding-learning']}: the xdp programs look up their FDB map and encapsulate ` +
      'what they forward in one pass, with vtepd\'s stages as their slow path; put both on xdp',
  },
  {
    test: (p) => p.checksum === 'xdp' || p.segmentation === 'xdp',
    message: () => 'checksum and segmentation cannot be xdp: the xdp programs write the outer IPv4 checksum themselves (UDP checksum 0) and never segment; leave them host',
  },
  {
    test: (p) => OFFLOADED.includes(p['encap-decap']) && (inVtepd(p.checksum) || inVtepd(p.segmentation)),
    message: (p) =>
      `encap-decap: ${p['encap-decap']} builds the outer headers after vtepd has handed the frame over, so checksum (${p.checksum}) and segmentation (${p.segmentation}) cannot stay in vtepd; set them to kernel or nic`,
  },
  {
    test: (p) => OFFLOADED.includes(p.segmentation) && inVtepd(p.checksum),
    message: (p) => `segmentation: ${p.segmentation} needs checksum: kernel or nic, not ${p.checksum}: each segment's checksum only exists after segmentation`,
  },
  {
    test: (p) => p.segmentation === 'nic' && p.checksum !== 'nic',
    message: (p) => `segmentation: nic needs checksum: nic (not ${p.checksum}): the NIC computes the checksums of the segments it cuts`,
  },
];

// The root `default: {}` is for embedding in the daemon's schema; ajv (strict) refuses it at the root.
const { default: _rootDefault, ...planRoot } = offloadPlanSchema;
const validateShape = new Ajv({ useDefaults: true, allErrors: true, strict: true }).compile(planRoot);

/** Shape only: unknown keys and placements become messages; missing functions default to host. */
export function parsePlanShape(input: unknown): { plan: OffloadPlan | null; problems: string[] } {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) return { plan: null, problems: [`offload: must be an object mapping functions (${OFFLOAD_FUNCTIONS.join(', ')}) to placements`] };
  const copy = { ...(input as Record<string, unknown>) };
  if (validateShape(copy)) return { plan: copy as OffloadPlan, problems: [] };
  const problems = (validateShape.errors ?? []).map((e) => {
    if (e.keyword === 'additionalProperties') return `offload: unknown function "${String(e.params.additionalProperty)}" (known: ${OFFLOAD_FUNCTIONS.join(', ')})`;
    const key = e.instancePath.replace(/^\//, '');
    if (e.keyword === 'enum') return `offload.${key}: ${JSON.stringify(copy[key])} is not a placement (one of ${PLACEMENTS.join(', ')})`;
    return `offload${e.instancePath.replace(/\//g, '.')}: ${e.message}`;
  });
  return { plan: null, problems };
}

export interface PlanContext {
  caps: HostCapabilities;
  /** Tunnel types the configured networks use (availability is checked for each). */
  tunnels: readonly PlanTunnelType[];
}

/** Problems with a well-shaped plan on this host (empty = fine). */
export function planProblems(plan: OffloadPlan, ctx: PlanContext): string[] {
  const problems: string[] = [];
  const tunnels = ctx.tunnels.length > 0 ? [...new Set(ctx.tunnels)] : (['vxlan'] as const);
  for (const fn of OFFLOAD_FUNCTIONS) {
    const placement = plan[fn];
    for (const tunnel of perTunnel(fn) ? tunnels : tunnels.slice(0, 1)) {
      const a = availability(ctx.caps, fn, placement, tunnel);
      if (!a.ok) problems.push(`${fn}: ${placement}${perTunnel(fn) ? ` for ${tunnel}` : ''} is not available on this host: ${a.reason}`);
    }
  }
  for (const r of PLAN_RULES) if (r.test(plan)) problems.push(r.message(plan));
  return problems;
}

/** Parse and validate; throws PlanError listing every problem. */
export function parsePlan(input: unknown, ctx: PlanContext): OffloadPlan {
  const { plan, problems } = parsePlanShape(input);
  if (!plan) throw new PlanError(problems);
  const more = planProblems(plan, ctx);
  if (more.length > 0) throw new PlanError(more);
  return plan;
}

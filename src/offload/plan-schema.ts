/**
 * The offload plan, declared as data in one place: which functions a plan
 * places, where each can run, the JSON Schema of the `offload` config object
 * (for ajv, usable inside the daemon's config schema), and the names the native
 * addon must export for `native` placement.
 *
 *   host   the TypeScript fast path
 *   native the same work in C in native-bindings/ (still host CPU)
 *   kernel the Linux datapath (kernel vxlan netdev + bridge; vnet-header csum/GSO)
 *   xdp    vtepd's eBPF programs at the driver hook (native-bindings/bpf/vtepd_xdp.bpf.c),
 *          with vtepd's own stages as the slow path (encap-decap and forwarding-learning)
 *   nic    the network card, only where the interface reports the feature
 */
export const OFFLOAD_FUNCTIONS = ['checksum', 'segmentation', 'encap-decap', 'forwarding-learning'] as const;
export const PLACEMENTS = ['host', 'native', 'kernel', 'xdp', 'nic'] as const;
/** Same list as the daemon config's tunnel types (kept local so this file stands alone). */
export const PLAN_TUNNEL_TYPES = ['vxlan', 'geneve', 'nvgre'] as const;

export type OffloadFunction = (typeof OFFLOAD_FUNCTIONS)[number];
export type Placement = (typeof PLACEMENTS)[number];
export type PlanTunnelType = (typeof PLAN_TUNNEL_TYPES)[number];

/** A plan: one placement per function. */
export type OffloadPlan = Record<OffloadFunction, Placement>;

/** Everything in software on the host: the baseline other plans are compared with. */
export const HOST_PLAN: OffloadPlan = {
  checksum: 'host',
  segmentation: 'host',
  'encap-decap': 'host',
  'forwarding-learning': 'host',
};

/** Config shape, e.g. `offload: { encap-decap: kernel, forwarding-learning: kernel }`; missing keys are `host`. */
export const offloadPlanSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: Object.fromEntries(OFFLOAD_FUNCTIONS.map((f) => [f, { enum: PLACEMENTS, default: 'host' }])),
} as const;

/**
 * Addon exports that make a function available as `native` (one batch per
 * call: `(core, batchView, count)`, checksumBatch `(batchView, count, mode)`).
 * The addon lives in native-bindings/; keep this table in step with it
 * (segmentBatch does not exist: vtepd's ports never take GSO super-frames).
 */
export const NATIVE_EXPORTS: {
  checksum: readonly string[];
  segmentation: readonly string[];
  'encap-decap': Record<PlanTunnelType, readonly string[]>;
  'forwarding-learning': readonly string[];
} = {
  checksum: ['checksumBatch'],
  segmentation: ['segmentBatch'],
  'encap-decap': {
    vxlan: ['vxlanEncapBatch', 'vxlanDecapBatch'],
    geneve: ['geneveEncapBatch', 'geneveDecapBatch'],
    nvgre: ['nvgreEncapBatch', 'nvgreDecapBatch'],
  },
  'forwarding-learning': ['fdbLearnLookupBatch'],
};

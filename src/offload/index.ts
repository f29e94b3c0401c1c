/** Public API of offload plans, host probing and the kernel datapath. */
export { OFFLOAD_FUNCTIONS, PLACEMENTS, PLAN_TUNNEL_TYPES, HOST_PLAN, NATIVE_EXPORTS, offloadPlanSchema, type OffloadPlan, type OffloadFunction, type Placement, type PlanTunnelType } from './plan-schema.js';
export { parsePlan, parsePlanShape, planProblems, PlanError, PLAN_RULES, type PlanContext } from './plan.js';
export { probeHost, probeKernelLinks, probeNative, readKernelConfig, defaultRouteIface, type HostCapabilities, type Avail } from './host-probe.js';
export { availability, availabilityMatrix, type AvailabilityRow } from './availability.js';
export { probeNic, parseEthtoolFeatures, nicFeature, type NicInfo } from './ethtool.js';
export { KernelVtep, type KernelVtepSpec, type KernelFdbState, type KernelVtepCounters } from './kernel-vtep.js';
export { diffFdb, FLOOD_MAC, type KernelFdbEntry, type FdbDiff } from './fdb-sync.js';
export { iproute, iprouteJson, IprouteError, createNetns, deleteNetns } from './iproute.js';

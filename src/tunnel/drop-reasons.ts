/**
 * Drop reasons of the tunnel stages: their section of the global registry
 * (src/batch/drop-reasons.ts), with the codes written into `batch.drop[i]`.
 * Decap and encap share the section, so a code seen in a batch names one
 * reason whichever tunnel stage set it (and whatever other stage reads it).
 */
import { TUNNEL_DROPS, codesOf, dropReasonName, type DropReason } from '../batch/drop-reasons.js';

export { TUNNEL_DROPS, dropCounterName } from '../batch/drop-reasons.js';

export type TunnelDropReason = (typeof TUNNEL_DROPS)[number];

/** Code of each reason: `TunnelDrop['mtu-exceeded']` etc. (global codes). */
export const TunnelDrop = codesOf(TUNNEL_DROPS);

/** Reason name of a code (any stage's: the codes are global). */
export function dropReason(code: number): DropReason | undefined {
  return dropReasonName(code);
}

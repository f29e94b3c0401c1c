/**
 * Counter and drop-reason lists of the L2 bridge. Each list is the one source of
 * both the numeric codes (index in the list) and the counter names, so a counter
 * cannot exist without a name or a name without a code (the VPP error-list idea).
 */
import { BRIDGE_DROP_REASONS, codesOf } from '../batch/drop-reasons.js';

/** Per bridge domain, kept by the MAC table. */
export const TABLE_COUNTERS = [
  'learned', // new entry
  'moved', // MAC seen at another port/remote, entry updated
  'aged', // removed by the ager
  'flushed', // removed by a flush or delete
  'evicted', // removed to make room (full policy evict-oldest)
  'limit-port', // not learned: per-port limit reached
  'limit-remote', // not learned: per-remote limit reached
  'table-full', // not learned: global limit reached (policy stop, or nothing evictable)
  'probe-limit', // not learned: probe sequence would exceed the bound
  'static-protected', // source seen away from its static entry, entry kept
  'move-dampened', // MAC froze to its first place after flapping
  'move-suppressed', // move ignored while the MAC is frozen
] as const;
export type TableCounter = (typeof TABLE_COUNTERS)[number];
export const TableCtr = Object.fromEntries(TABLE_COUNTERS.map((n, i) => [n, i])) as { [K in TableCounter]: number };

/** Outcome of one `learn` call (also what the differential test compares). */
export const LEARN_OUTCOMES = [
  'refreshed', // known at the same place: age stamp renewed
  'learned',
  'moved',
  'static', // static entry: nothing learned
  'frozen', // dampened: move ignored (or the move that froze it)
  'limit-port',
  'limit-remote',
  'full',
] as const;
export type LearnOutcome = (typeof LEARN_OUTCOMES)[number];
export const Learn = Object.fromEntries(LEARN_OUTCOMES.map((n, i) => [n, i])) as { [K in LearnOutcome]: number };

/**
 * Frame drop reasons of the bridge stage: its section of the global registry
 * (src/batch/drop-reasons.ts); `Drop[reason]` is the code written to batch.drop.
 */
export const BRIDGE_DROPS = BRIDGE_DROP_REASONS;
export type BridgeDrop = (typeof BRIDGE_DROPS)[number];
export const Drop = codesOf(BRIDGE_DROPS);

/** Per bridge domain, kept by the bridge stage (drops are counted per reason beside these). */
export const BRIDGE_COUNTERS = [
  'in', // frames classified into the domain
  'unicast', // frames sent to one known destination
  'flooded', // frames flooded (unknown unicast, broadcast, multicast)
  'flood-copies', // copies made by flooding (local ports + head-end replication)
  'dropped', // frames dropped (sum over reasons)
] as const;
export type BridgeCounter = (typeof BRIDGE_COUNTERS)[number];
export const BridgeCtr = Object.fromEntries(BRIDGE_COUNTERS.map((n, i) => [n, i])) as { [K in BridgeCounter]: number };

/**
 * The `trace` command of the control API (VPP's per-node packet trace): the
 * daemon records the next N frames it takes from any port and replies, per
 * frame, with every stage's decision. Frames are carried as hex (their first
 * bytes) so the client formats them with the codecs' formatters (src/dissect).
 *
 *   request:  {"cmd": "trace", "args": {"count": 10, "timeoutMs": 10000}}
 *   result:   TraceResult
 */
import { ControlError } from './control-server.js';

/** Most frames one trace records (each record is a few hundred bytes of JSON). */
export const TRACE_MAX_FRAMES = 1000;
/** Longest wait for the frames to arrive; below the control socket's idle timeout. */
export const TRACE_MAX_TIMEOUT_MS = 50_000;
export const TRACE_DEFAULT_TIMEOUT_MS = 10_000;

// The record shapes are made by the data path's tracer (src/pipeline/trace.ts).
export type { TraceFrame, TraceResult, TraceStep } from '../pipeline/trace.js';

export interface TraceArgs { count: number; timeoutMs: number }

/** Argument check of `trace` (a bad argument is a ControlError the client prints as it is). */
export function traceArgs(a: Record<string, unknown>): TraceArgs {
  const count = a.count ?? 10;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > TRACE_MAX_FRAMES) {
    throw new ControlError(`count: must be an integer 1..${TRACE_MAX_FRAMES}`);
  }
  const timeoutMs = a.timeoutMs ?? TRACE_DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > TRACE_MAX_TIMEOUT_MS) {
    throw new ControlError(`timeoutMs: must be an integer 1..${TRACE_MAX_TIMEOUT_MS}`);
  }
  return { count: count as number, timeoutMs: timeoutMs as number };
}

/**
 * Derived cost figures, as plain formulas on numbers so they can be checked on
 * exact values and reused by the meter, `vtepd stats` and the cost report.
 *
 * Frame size convention (RFC 2544): `frameSize` is the Ethernet frame length
 * including the 4-byte FCS (64..1518 B). A captured frame of length L (no FCS)
 * is L + 4. On the wire each frame also costs 20 B of preamble (7), start
 * delimiter (1) and inter-frame gap (12):
 *
 *   frames/s at line rate R (bit/s) = R / ((frameSize + 20) * 8)
 *   cores per 10 Gb/s              = nsPerFrame * 1e-9 * 10e9 / ((frameSize + 20) * 8)
 *
 * so 64 B frames are 14,880,952 frames/s at 10 Gb/s and 1400 B frames 880,282.
 */

/** Preamble + SFD + inter-frame gap, bytes per frame on an Ethernet wire. */
export const WIRE_OVERHEAD_BYTES = 20;
/** Bytes of FCS that captures leave out. */
export const FCS_BYTES = 4;
export const TEN_GBPS = 10e9;

/** Frames per second that fill `bitsPerSecond` at `frameSize` (FCS included). */
export function framesPerSecondAtLineRate(bitsPerSecond: number, frameSize: number): number {
  if (!(frameSize > 0)) throw new RangeError(`frame size must be > 0, got ${frameSize}`);
  return bitsPerSecond / ((frameSize + WIRE_OVERHEAD_BYTES) * 8);
}

/** CPU nanoseconds per frame; null when no frame was handled (undefined, not zero). */
export function cpuNsPerFrame(cpuSeconds: number, frames: number): number | null {
  return frames > 0 ? (cpuSeconds * 1e9) / frames : null;
}

/** Average cores busy: CPU seconds over wall seconds (2.0 = two cores fully busy). */
export function coresInUse(cpuSeconds: number, wallSeconds: number): number | null {
  return wallSeconds > 0 ? cpuSeconds / wallSeconds : null;
}

/** Cores needed to handle 10 Gb/s of `frameSize` frames at `nsPerFrame` CPU cost each. */
export function coresPer10G(nsPerFrame: number | null, frameSize: number): number | null {
  if (nsPerFrame === null) return null;
  return nsPerFrame * 1e-9 * framesPerSecondAtLineRate(TEN_GBPS, frameSize);
}

/**
 * Share of host CPU plan B frees compared with plan A, from their costs a and b
 * (same unit, >= 0, e.g. CPU ns per delivered frame):
 *
 *   freed = (a - b) / max(a, b),  0 when a == b (including both 0)
 *
 * Always within [-1, 1]: 1 = B costs nothing where A cost something, -1 = A cost
 * nothing and B did, 0.5 = B costs half of A; -0.5 = A costs half of B. Dividing
 * by max (not by a) keeps it bounded and defined when A is 0. Null when either
 * cost is unknown.
 */
export function freedShare(a: number | null, b: number | null): number | null {
  if (a === null || b === null) return null;
  if (a < 0 || b < 0 || !Number.isFinite(a) || !Number.isFinite(b)) throw new RangeError(`costs must be finite and >= 0 (got ${a}, ${b})`);
  if (a === b) return 0;
  return (a - b) / Math.max(a, b);
}

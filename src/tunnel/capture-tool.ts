/**
 * Capture to capture through one tunnel stage (what `vtepd encap` / `vtepd decap`
 * run): read a batch, run the stage, write the survivors, keep timestamps and
 * the input's timestamp resolution. Control path: allocation here is fine.
 */
import { PacketBatch } from '../batch/packet-batch.js';
import { openCapture, PcapWriter } from '../capture/index.js';
import type { TunnelCounters } from './counters.js';

export interface BatchStage {
  readonly counters: TunnelCounters;
  process(batch: PacketBatch): void;
}

export interface CaptureRunResult {
  framesIn: number;
  framesOut: number;
  /** Records larger than a batch slot, skipped by the reader. */
  skippedOversize: number;
  counters: Record<string, number>;
}

export interface CaptureRunOptions {
  /** Headroom per slot: room for the largest outer header (GENEVE options up to 252 B). */
  headroom?: number;
  /** Write to this descriptor (stdout) instead of opening outPath. */
  outFd?: number;
  /** Create outPath exclusively (a temporary file of the caller's). */
  exclusive?: boolean;
}

export function runCapture(inPath: string, outPath: string, stage: BatchStage, opts: CaptureRunOptions = {}): CaptureRunResult {
  const reader = openCapture(inPath);
  let writer: PcapWriter | null = null;
  try {
    writer = new PcapWriter(outPath, { nanos: reader.nanos, fd: opts.outFd, exclusive: opts.exclusive });
    const batch = new PacketBatch({ capacity: 128, headroom: opts.headroom ?? 384, dataRoom: 65535 });
    let framesIn = 0;
    let framesOut = 0;
    for (;;) {
      batch.clear();
      const n = reader.readBatch(batch);
      if (n === 0) break;
      framesIn += n;
      stage.process(batch);
      framesOut += writer.writeBatch(batch);
    }
    return { framesIn, framesOut, skippedOversize: reader.oversize, counters: stage.counters.snapshot() };
  } finally {
    reader.close();
    writer?.close();
  }
}

/** Human summary for stderr. */
export function formatSummary(verb: string, r: CaptureRunResult): string {
  const lines = [`vtepd ${verb}: ${r.framesIn} frames in, ${r.framesOut} out, ${r.framesIn - r.framesOut} dropped`];
  if (r.skippedOversize) lines.push(`  skipped (larger than a slot): ${r.skippedOversize}`);
  for (const [k, v] of Object.entries(r.counters)) {
    if (k === 'in-frames' || k === 'out-frames' || (k === 'pass-not-tunnel' && v === 0)) continue;
    lines.push(`  ${k}: ${v}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * NativeChecksumStage: the outer IPv4 header and UDP checksums of a batch
 * computed in C (native-bindings/src/checksum.cc, offload placement
 * `checksum: native`), one N-API call per batch. It runs after an encap that
 * left the checksums to it; frames are found by their l3/l4 metadata (what
 * EncapStage sets), and a frame whose headers or metadata disagree with its
 * length is left alone and counted as `bad`.
 *
 * Counters: the C side adds into one Uint32Array in the stage convention
 * (src/batch/stage.ts COUNTS_*; extra = frames left alone as `bad`); process()
 * drains it once per batch, no allocation.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { checkContract } from '../native/contract.js';
import { BATCH_CONTRACT } from '../batch/contract.js';
import { COUNTS_LEN, StageCounters, type Stage } from '../batch/stage.js';

/** checksumBatch mode bits. */
export const CHECKSUM_MODE = { ip4: 1, udp: 2 } as const;

type ChecksumBatchFn = (view: NativeBatchView, count: number, mode: number, counts?: Uint32Array) => number;

/** The part of the addon this stage uses. */
export interface NativeChecksumAddon { checksumBatch: ChecksumBatchFn }

/** The addon's checksumBatch, or a clear Error saying what is missing. */
export function loadNativeChecksum(): NativeChecksumAddon {
  const a = loadNativeExports<NativeChecksumAddon>('native checksum', ['checksumBatch'], loadNative);
  checkContract(a, BATCH_CONTRACT);
  return a;
}

export interface NativeChecksumOptions {
  /** Outer IPv4 header checksum (default true). */
  ip4?: boolean;
  /** Outer UDP checksum (default true). */
  udp?: boolean;
}

export class NativeChecksumCounters extends StageCounters {
  batches = 0;
  /** Frames with at least one checksum written. */
  filled = 0;

  /** Frames left alone: metadata or header lengths inconsistent with the frame (= extra). */
  bad = 0;
  /** Frames with nothing to compute (no outer IP, not UDP, IPv6 with ip4 only). */
  skipped = 0;

  constructor() {
    super('bad');
  }
}

export class NativeChecksumStage implements Stage {
  readonly name: string = 'checksum';
  readonly mode: number;
  readonly counters = new NativeChecksumCounters();
  private readonly run: ChecksumBatchFn;
  private readonly counts = new Uint32Array(COUNTS_LEN);

  constructor(opts: NativeChecksumOptions = {}) {
    this.mode = ((opts.ip4 ?? true) ? CHECKSUM_MODE.ip4 : 0) | ((opts.udp ?? true) ? CHECKSUM_MODE.udp : 0);
    if (this.mode === 0) throw new Error('NativeChecksumStage: nothing to compute (ip4 and udp both off)');
    this.run = loadNativeChecksum().checksumBatch;
  }

  /** Fills the checksums of every alive frame of the batch; returns how many frames were filled. */
  process(batch: PacketBatch): number {
    const filled = this.run(nativeBatchView(batch), batch.count, this.mode, this.counts);
    const k = this.counters;
    k.batches++;
    k.filled += filled;
    k.drain(this.counts);
    k.bad = k.extra;
    k.skipped = k.inFrames - k.filled - k.extra;
    return filled;
  }
}

/**
 * NativeDecapStage: DecapStage with process() in C (native-bindings/src/decap.cc),
 * one N-API call per batch. Same constructor, same config, same results frame
 * for frame (test/tunnel/native-decap.test.ts runs both on the same batches).
 *
 * Counters: the C core adds its per-batch counts into one Uint32Array in the
 * stage convention (src/batch/stage.ts COUNTS_*; extra = passed) bound at
 * construction; process() drains it into `this.counters` after each call, so
 * no allocation per batch. Drop codes and flags come from the generated
 * contract (contract.h), checked against TypeScript's once at construction.
 *
 * The resolved config is copied into C at construction (port table, VNI
 * kind table, switches): changing `this.config` afterwards does not reach it.
 *
 * One difference by design: a frame whose offset/length leave its slot is
 * dropped as 'truncated' without being read (TypeScript would read past it).
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { checkContract } from '../native/contract.js';
import { BATCH_CONTRACT } from '../batch/contract.js';
import { COUNTS_LEN } from '../batch/stage.js';
import { DecapStage } from './decap.js';
import type { DecapConfig, ResolvedDecap } from './tunnel-config.js';

/** Opaque handle of the addon's DecapCore. */
export interface NativeDecapCore { readonly __nativeDecapCore: unique symbol }

type DecapBatchFn = (core: NativeDecapCore, view: NativeBatchView, count: number) => void;

/** The part of the addon this stage uses. */
export interface NativeDecapAddon {
  DecapCore: new (config: ResolvedDecap, counts: Uint32Array) => NativeDecapCore;
  vxlanDecapBatch: DecapBatchFn;
  geneveDecapBatch: DecapBatchFn;
  nvgreDecapBatch: DecapBatchFn;
}

/** The addon with the decap exports (built from this contract), or a clear Error saying what is wrong. */
export function loadNativeDecap(): NativeDecapAddon {
  const a = loadNativeExports<NativeDecapAddon>('native decap', ['DecapCore', 'vxlanDecapBatch', 'geneveDecapBatch', 'nvgreDecapBatch'], loadNative);
  checkContract(a, BATCH_CONTRACT);
  return a;
}

export class NativeDecapStage extends DecapStage {
  private readonly core: NativeDecapCore;
  private readonly run: DecapBatchFn;
  private readonly counts = new Uint32Array(COUNTS_LEN);

  constructor(config: DecapConfig = {}) {
    super(config);
    const addon = loadNativeDecap();
    this.core = new addon.DecapCore(this.config, this.counts);
    // One stage decaps all three kinds; any of the three exports runs it.
    this.run = addon.vxlanDecapBatch;
  }

  override process(batch: PacketBatch): void {
    this.run(this.core, nativeBatchView(batch), batch.count);
    this.counters.drain(this.counts); // adds and zeroes
  }
}

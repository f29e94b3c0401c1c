/**
 * NativeDecapStage: DecapStage with process() in C (native-bindings/src/decap.cc),
 * one N-API call per batch. Same constructor, same config, same results frame
 * for frame (test/tunnel/native-decap.test.ts runs both on the same batches).
 *
 * Counters: the C core adds its per-batch counts into one Uint32Array
 * ([in, out, passed, drops by code...]) bound at construction; process()
 * drains it into `this.counters` after each call, so no allocation per batch.
 *
 * The resolved config is copied into C at construction (port table, VNI
 * bitmap, switches): changing `this.config` afterwards does not reach it.
 *
 * One difference by design: a frame whose offset/length leave its slot is
 * dropped as 'truncated' without being read (TypeScript would read past it).
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { DecapStage } from './decap.js';
import { TUNNEL_DROPS, TUNNEL_DROP_CODES } from './drop-reasons.js';
import type { DecapConfig, ResolvedDecap } from './tunnel-config.js';

/** Opaque handle of the addon's DecapCore. */
export interface NativeDecapCore { readonly __nativeDecapCore: unique symbol }

type DecapBatchFn = (core: NativeDecapCore, view: NativeBatchView, count: number) => void;

/** The part of the addon this stage uses. */
export interface NativeDecapAddon {
  DecapCore: new (config: ResolvedDecap, counts: Uint32Array, dropNames: readonly string[]) => NativeDecapCore;
  vxlanDecapBatch: DecapBatchFn;
  geneveDecapBatch: DecapBatchFn;
  nvgreDecapBatch: DecapBatchFn;
}

/** Layout of the counts array the core adds to (decap.h). */
const C_IN = 0;
const C_OUT = 1;
const C_PASSED = 2;
const C_DROPS = 3;

/** The addon with the decap exports, or a clear Error saying what is missing. */
export function loadNativeDecap(): NativeDecapAddon {
  return loadNativeExports<NativeDecapAddon>('native decap', ['DecapCore', 'vxlanDecapBatch', 'geneveDecapBatch', 'nvgreDecapBatch'], loadNative);
}

export class NativeDecapStage extends DecapStage {
  private readonly core: NativeDecapCore;
  private readonly run: DecapBatchFn;
  private readonly counts = new Uint32Array(C_DROPS + TUNNEL_DROP_CODES);
  private readonly countDrops = this.counts.subarray(C_DROPS);

  constructor(config: DecapConfig = {}) {
    super(config);
    const addon = loadNativeDecap();
    this.core = new addon.DecapCore(this.config, this.counts, TUNNEL_DROPS);
    // One stage decaps all three kinds; any of the three exports runs it.
    this.run = addon.vxlanDecapBatch;
  }

  override process(batch: PacketBatch): void {
    this.run(this.core, nativeBatchView(batch), batch.count);
    const c = this.counts;
    const k = this.counters;
    k.inFrames += c[C_IN];
    k.outFrames += c[C_OUT];
    k.passedOther += c[C_PASSED];
    c[C_IN] = 0;
    c[C_OUT] = 0;
    c[C_PASSED] = 0;
    k.addDrops(this.countDrops); // adds and zeroes
  }
}

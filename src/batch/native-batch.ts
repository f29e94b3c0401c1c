/**
 * The native addon's view of a PacketBatch (native-bindings/src/batch_view.h):
 * made once per batch and cached here, so a native stage crosses into C once
 * per batch with (stage, view, count) instead of twenty typed arrays.
 */
import type { PacketBatch } from './packet-batch.js';
import { loadNative, type NativeBatchView } from '../native/addon.js';

export type { NativeBatchView };

interface BatchViewAddon { BatchView: new (batch: PacketBatch) => NativeBatchView }

const views = new WeakMap<PacketBatch, NativeBatchView>();

/** The BatchView of `batch` (made on first use; throws when the addon is not built). */
export function nativeBatchView(batch: PacketBatch): NativeBatchView {
  let v = views.get(batch);
  if (v === undefined) {
    v = new (loadNative() as unknown as BatchViewAddon).BatchView(batch);
    views.set(batch, v);
  }
  return v;
}

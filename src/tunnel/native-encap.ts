/**
 * NativeEncapStage: EncapStage with `process` done in C (native-bindings/src/encap.cc),
 * one N-API crossing per batch. Same config, same templates (built here by the
 * TS code and copied into the native core once), same bytes and metadata out;
 * test/tunnel/native-encap.test.ts checks that byte for byte against EncapStage.
 *
 * Counters: the core adds into `counts` (the stage convention, src/batch/stage.ts
 * COUNTS_*; drop codes from the generated contract); process() drains it into
 * the TunnelCounters, so a batch costs no allocation on either side.
 *
 * A frame outside its slot (offset/length JS code corrupted) is dropped as
 * `no-headroom` by the native stage; EncapStage would write past the slot.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView, type NativeBatchView } from '../batch/native-batch.js';
import { loadNative } from '../native/addon.js';
import { loadNativeExports } from '../native/exports.js';
import { checkContract } from '../native/contract.js';
import { BATCH_CONTRACT } from '../batch/contract.js';
import { COUNTS_LEN } from '../batch/stage.js';
import { EncapStage } from './encap.js';
import type { EncapConfig, TunnelType } from './tunnel-config.js';

/** Opaque handle of the addon's EncapCore. */
export interface NativeEncapCore { readonly __nativeEncapCore: unique symbol }

export interface EncapCoreInit {
  type: TunnelType;
  v6: boolean;
  udpCsum: boolean;
  copyDscp: boolean;
  vni: number;
  mtu: number;
  sportMin: number;
  sportMax: number;
  /** NVGRE FlowID, -1 = from the flow hash. */
  flowId: number;
  hdrLen: number;
  ethLen: number;
  ipOff: number;
  l4Off: number;
  tunOff: number;
  /** Every remote's template, `hdrLen` bytes each, remote order. */
  templates: Uint8Array;
  ip4Sum: Float64Array;
  udpSum: Float64Array;
  /** Added to by the core (COUNTS_* layout, COUNTS_LEN entries); drained by the caller. */
  counts: Uint32Array;
}

export type EncapBatchFn = (core: NativeEncapCore, view: NativeBatchView, count: number) => number;

export interface EncapAddon {
  EncapCore: new (init: EncapCoreInit) => NativeEncapCore;
  vxlanEncapBatch: EncapBatchFn;
  geneveEncapBatch: EncapBatchFn;
  nvgreEncapBatch: EncapBatchFn;
}

const EXPORTS = ['EncapCore', 'vxlanEncapBatch', 'geneveEncapBatch', 'nvgreEncapBatch', 'BatchView'] as const;

/** The addon with the encap exports; throws a clear Error when it is not built or is an older build. */
export function loadEncapAddon(): EncapAddon {
  const a = loadNativeExports<EncapAddon>('native encap', EXPORTS, loadNative);
  checkContract(a, BATCH_CONTRACT);
  return a;
}

/** True when the native encap stage can be used here. */
export function nativeEncapAvailable(): boolean {
  try {
    loadEncapAddon();
    return true;
  } catch {
    return false;
  }
}

export class NativeEncapStage extends EncapStage {
  /** The native core (exposed for tests that call the addon directly). */
  readonly core: NativeEncapCore;
  private readonly run: EncapBatchFn;
  private readonly counts = new Uint32Array(COUNTS_LEN);

  constructor(config: EncapConfig) {
    super(config);
    const addon = loadEncapAddon();
    const c = this.config;
    const t = this.template;
    const templates = new Uint8Array(t.hdrLen * t.bytes.length);
    t.bytes.forEach((b, r) => templates.set(b, r * t.hdrLen));
    this.core = new addon.EncapCore({
      type: c.type,
      v6: c.v6,
      udpCsum: c.udpCsum,
      copyDscp: c.copyDscp,
      vni: c.vni,
      mtu: c.mtu,
      sportMin: c.sportMin,
      sportMax: c.sportMax,
      flowId: c.flowId,
      hdrLen: t.hdrLen,
      ethLen: t.ethLen,
      ipOff: t.ipOff,
      l4Off: t.l4Off,
      tunOff: t.tunOff,
      templates,
      ip4Sum: t.ip4Sum,
      udpSum: t.udpSum,
      counts: this.counts,
    });
    this.run = c.type === 'vxlan' ? addon.vxlanEncapBatch : c.type === 'geneve' ? addon.geneveEncapBatch : addon.nvgreEncapBatch;
  }

  override process(batch: PacketBatch): void {
    this.run(this.core, nativeBatchView(batch), batch.count);
    this.counters.drain(this.counts);
  }
}

/**
 * Classify stage for underlay frames: which tunnel type each frame arrived as
 * (VXLAN or GENEVE by UDP destination port, NVGRE by IP protocol 47), read
 * from the outer headers before decap strips them. After decap, a frame whose
 * type is not its network's type (a GENEVE frame carrying the VNI of a VXLAN
 * network) is dropped and counted: a VNI names one network of one type.
 * Reads a few header bytes per frame; no allocation.
 */
import { PacketBatch, PacketFlag } from '../batch/packet-batch.js';
import type { BridgeDomains } from '../l2/bridge-domain.js';

export const KIND_NONE = 0;
export const KIND_VXLAN = 1;
export const KIND_GENEVE = 2;
export const KIND_NVGRE = 3;
export const KIND_OF_TYPE = { vxlan: KIND_VXLAN, geneve: KIND_GENEVE, nvgre: KIND_NVGRE } as const;

export const CLASSIFY_DROPS = ['tunnel-type-mismatch'] as const;
/** Drop code written to batch.drop (high, away from the tunnel and bridge codes). */
export const DROP_TYPE_MISMATCH = 250;

export class TunnelClassifier {
  /** Per packet of the current batch: KIND_* seen on the wire. */
  kind: Uint8Array = new Uint8Array(256);
  /** Per UDP destination port: KIND_VXLAN / KIND_GENEVE / 0. */
  readonly portKind = new Uint8Array(65536);
  /** Per bridge domain: the KIND_* of its network. */
  readonly domainKind: Uint8Array;
  typeMismatch = 0;

  constructor(private readonly domains: BridgeDomains, maxDomains: number) {
    this.domainKind = new Uint8Array(maxDomains);
  }

  /** Record each frame's outer tunnel kind (before decap). */
  mark(b: PacketBatch): void {
    const n = b.count;
    if (this.kind.length < n) this.kind = new Uint8Array(b.capacity);
    const d = b.data;
    const kind = this.kind;
    const portKind = this.portKind;
    for (let i = 0; i < n; i++) {
      kind[i] = KIND_NONE;
      if (b.drop[i] !== 0) continue;
      const off = b.offset[i];
      const end = off + b.length[i];
      let p = off + 14;
      if (p > end) continue;
      let et = (d[p - 2] << 8) | d[p - 1];
      while ((et === 0x8100 || et === 0x88a8) && p + 4 <= end) {
        et = (d[p + 2] << 8) | d[p + 3];
        p += 4;
      }
      let proto = -1;
      let l4 = 0;
      if (et === 0x0800 && p + 20 <= end) {
        proto = d[p + 9];
        l4 = p + (d[p] & 15) * 4;
      } else if (et === 0x86dd && p + 40 <= end) {
        proto = d[p + 6];
        l4 = p + 40;
      }
      if (proto === 47) kind[i] = KIND_NVGRE;
      else if (proto === 17 && l4 + 4 <= end) kind[i] = portKind[(d[l4 + 2] << 8) | d[l4 + 3]];
    }
  }

  /** After decap: drop frames whose wire type differs from their network's type. */
  check(b: PacketBatch): void {
    const n = b.count;
    const kind = this.kind;
    const doms = this.domains;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (b.drop[i] !== 0 || (b.flags[i] & PacketFlag.DECAPPED) === 0 || kind[i] === KIND_NONE) continue;
      const dom = doms.domainOfVni(b.vni[i]);
      if (dom >= 0 && this.domainKind[dom] !== kind[i]) {
        b.drop[i] = DROP_TYPE_MISMATCH;
        bad++;
      }
    }
    this.typeMismatch += bad;
  }
}

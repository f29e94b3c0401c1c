/**
 * Encap stage: prepend the remote's precomputed outer header to every alive
 * frame of a batch (in the slot headroom: no payload copy) and patch the
 * per-packet fields. One loop, no allocation, counts kept in locals and a
 * scratch array and added to the counters once per batch.
 *
 * Per packet: remote = outPort (NONE -> 0); entropy = flowHash(inner) gives
 * the UDP source port (multiply-shift into the configured range), NVGRE FlowID
 * (unless fixed) and IPv6 flow label (RFC 6438).  IPv4 checksum = template sum
 * + the patched words, folded (RFC 1624 with template fields zero).
 */
import { PacketBatch, NONE } from '../batch/packet-batch.js';
import { DROP_CODES } from '../batch/drop-reasons.js';
import type { Stage } from '../batch/stage.js';
import { foldFast, sumWords } from '../packet/checksum.js';
import { TunnelDrop } from './drop-reasons.js';
import { TunnelCounters } from './counters.js';
import { flowHash, flowInfo } from './flow-hash.js';
import { buildTemplates, type EncapTemplate } from './template.js';
import { resolveEncapConfig, type EncapConfig, type ResolvedEncap } from './tunnel-config.js';

const D_HEADROOM = TunnelDrop['no-headroom'];
const D_MTU = TunnelDrop['mtu-exceeded'];
const D_REMOTE = TunnelDrop['bad-remote'];
const D_SHORT = TunnelDrop['inner-too-short'];

export class EncapStage implements Stage {
  readonly name: string = 'encap';
  readonly config: ResolvedEncap;
  readonly template: EncapTemplate;
  readonly counters = new TunnelCounters();
  private readonly scratch = new Uint32Array(DROP_CODES);
  /** Next IPv4 identification (RFC 6864: any value is fine with DF, a counter keeps it unique). */
  private ipId = 0;

  constructor(config: EncapConfig) {
    this.config = resolveEncapConfig(config);
    this.template = buildTemplates(this.config);
  }

  /** Bytes each frame grows by. */
  get overhead(): number {
    return this.template.hdrLen;
  }

  /** Largest inner frame that fits the underlay MTU. */
  get maxInnerFrame(): number {
    return this.config.mtu - (this.template.hdrLen - this.template.ethLen);
  }

  /** An Int32Array over the batch slab (made once per slab, for the checksum loop). */
  private w32: Int32Array = new Int32Array(0);
  private words(d: Uint8Array): Int32Array {
    if (this.w32.buffer !== d.buffer) this.w32 = new Int32Array(d.buffer, 0, d.buffer.byteLength >>> 2);
    return this.w32;
  }

  process(batch: PacketBatch): void {
    const c = this.config;
    const t = this.template;
    const d = batch.data;
    const offs = batch.offset;
    const lens = batch.length;
    const drop = batch.drop;
    const outPort = batch.outPort;
    const scratch = this.scratch;
    const tpl = t.bytes;
    const nRemotes = tpl.length;
    const hdrLen = t.hdrLen;
    const ipOff = t.ipOff;
    const l4Off = t.l4Off;
    const maxIp = c.mtu;
    const ipHdr = c.v6 ? 40 : 20;
    const eth = t.ethLen;
    const v6 = c.v6;
    const udp = c.type !== 'nvgre';
    const hashFlowId = c.type === 'nvgre' && c.flowId < 0;
    const udpCsum = udp && c.udpCsum;
    const copyDscp = c.copyDscp;
    const sportMin = c.sportMin;
    const sportSpan = c.sportMax - c.sportMin + 1;
    const slot = batch.slotSize;
    let id = this.ipId;
    const w32 = this.words(d);
    let nIn = 0;
    let nOut = 0;
    const n = batch.count;
    for (let i = 0; i < n; i++) {
      if (drop[i] !== 0) continue;
      nIn++;
      const off = offs[i];
      const len = lens[i];
      let r = outPort[i];
      if (r === NONE) r = 0;
      let code = 0;
      if (r < 0 || r >= nRemotes) code = D_REMOTE;
      else if (len < 14) code = D_SHORT;
      else if (len + hdrLen - eth > maxIp) code = D_MTU;
      else if (off - i * slot < hdrLen) code = D_HEADROOM;
      if (code !== 0) {
        drop[i] = code;
        scratch[code]++;
        continue;
      }
      const h = flowHash(d, off, len);
      const o = off - hdrLen;
      d.set(tpl[r], o);
      const ipLen = len + hdrLen - eth;
      const ip = o + ipOff;
      let tos = 0;
      if (copyDscp) {
        const l3 = flowInfo[0];
        if (l3 >= 0) {
          const q = off + l3;
          tos = flowInfo[1] === 0x0800 ? d[q + 1] : ((d[q] & 15) << 4) | (d[q + 1] >>> 4);
        }
      }
      if (v6) {
        const pl = ipLen - 40;
        d[ip] = 0x60 | (tos >>> 4);
        d[ip + 1] = ((tos & 15) << 4) | ((h >>> 16) & 15);
        d[ip + 2] = (h >>> 8) & 0xff;
        d[ip + 3] = h & 0xff;
        d[ip + 4] = pl >>> 8;
        d[ip + 5] = pl & 0xff;
      } else {
        id = (id + 1) & 0xffff;
        d[ip + 1] = tos;
        d[ip + 2] = ipLen >>> 8;
        d[ip + 3] = ipLen & 0xff;
        d[ip + 4] = id >>> 8;
        d[ip + 5] = id & 0xff;
        const cs = ~foldFast(t.ip4Sum[r] + ipLen + id + tos) & 0xffff;
        d[ip + 10] = cs >>> 8;
        d[ip + 11] = cs & 0xff;
      }
      if (udp) {
        const u = o + l4Off;
        const ulen = ipLen - ipHdr;
        const sport = sportMin + (((h >>> 16) * sportSpan) >>> 16);
        d[u] = sport >>> 8;
        d[u + 1] = sport & 0xff;
        d[u + 4] = ulen >>> 8;
        d[u + 5] = ulen & 0xff;
        if (udpCsum) {
          let cs = ~foldFast(t.udpSum[r] + ulen + ulen + sport + sumWords(d, w32, off, len)) & 0xffff;
          if (cs === 0) cs = 0xffff; // 0 means "no checksum" (RFC 768)
          d[u + 6] = cs >>> 8;
          d[u + 7] = cs & 0xff;
        }
        batch.entropy[i] = sport;
      } else {
        if (hashFlowId) d[o + t.tunOff + 7] = h & 0xff;
        batch.entropy[i] = d[o + t.tunOff + 7];
      }
      offs[i] = o;
      lens[i] = len + hdrLen;
      batch.wireLength[i] += hdrLen;
      batch.vni[i] = c.vni;
      batch.l2[i] = 0;
      batch.l3[i] = ipOff;
      batch.l4[i] = l4Off;
      batch.innerL2[i] = hdrLen;
      nOut++;
    }
    this.ipId = id;
    const k = this.counters;
    k.inFrames += nIn;
    k.outFrames += nOut;
    k.addDrops(scratch);
  }
}

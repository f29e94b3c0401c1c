/**
 * Decap stage: recognise VXLAN / GENEVE (UDP, configurable port lists) and
 * NVGRE (IP protocol 47, 0x6558) over outer IPv4/IPv6 with any VLAN tags,
 * validate, strip by moving the slot offset forward (no copy) and record
 * VNI, remote VTEP address, entropy and DECAPPED in the batch metadata.
 *
 * Rule: classify first (protocol + port / GRE type), validate second. A frame
 * that cannot be recognised as a tunnel is "not-tunnel" (passed untouched with
 * keepOther); one that is recognised but malformed is dropped with its reason.
 * This is the one classifier of tunnel frames: the kind it recognised goes into
 * flags (TUNNEL_KIND, also for a dropped frame), and with `networks` a VNI is
 * accepted only in its own network's kind ('tunnel-type-mismatch' otherwise).
 * IPv4/IPv6 fragments of UDP/GRE are dropped: a VTEP does not reassemble.
 *
 * Nesting: maxDepth levels are stripped (default 1: an inner tunnel is tenant
 * payload). Metadata (VNI, remote, entropy) and the VNI filter use the
 * outermost level: that is the underlay peer the bridge learns against.
 */
import { PacketBatch, PacketFlag, NONE, TunnelKind, TUNNEL_KIND_SHIFT } from '../batch/packet-batch.js';
import { DROP_CODES } from '../batch/drop-reasons.js';
import type { Stage } from '../batch/stage.js';
import { foldFast, sumBytes } from '../packet/checksum.js';
import { TunnelDrop } from './drop-reasons.js';
import { TunnelCounters } from './counters.js';
import { resolveDecapConfig, ETH_P_TEB, type DecapConfig, type ResolvedDecap } from './tunnel-config.js';

const NOT_TUNNEL = -1;
const D = TunnelDrop;
const KIND_NVGRE = TunnelKind.NVGRE;
const KIND_VXLAN = TunnelKind.VXLAN;
const NOT_KIND = ~PacketFlag.TUNNEL_KIND;

/** One's-complement sum of d[off, off+len) plus acc, folded to 16 bits (1..0xffff unless all zero). */
function sumFold(d: Uint8Array, off: number, len: number, acc: number): number {
  return foldFast(acc + sumBytes(d, off, len));
}

export class DecapStage implements Stage {
  readonly name: string = 'decap';
  readonly config: ResolvedDecap;
  readonly counters = new TunnelCounters();
  private readonly scratch = new Uint32Array(DROP_CODES);
  // Result of parseLevel (fields, not an object per packet). rKind is set as soon as
  // the level is recognised as a tunnel, also when it is then dropped.
  private rKind = 0;
  private rInner = 0;
  private rEnd = 0;
  private rVni = 0;
  private rEntropy = 0;
  private rSrc = 0; // offset of the outer source address
  private rV6 = false;

  constructor(config: DecapConfig = {}) {
    this.config = resolveDecapConfig(config);
  }

  process(batch: PacketBatch): void {
    const d = batch.data;
    const offs = batch.offset;
    const lens = batch.length;
    const drop = batch.drop;
    const flags = batch.flags;
    const ra = batch.remoteAddr;
    const scratch = this.scratch;
    const keepOther = this.config.keepOther;
    const maxDepth = this.config.maxDepth;
    let nIn = 0;
    let nOut = 0;
    let nPassed = 0;
    const n = batch.count;
    for (let i = 0; i < n; i++) {
      if (drop[i] !== 0) continue;
      nIn++;
      const off = offs[i];
      this.rKind = 0;
      let code = this.parseLevel(d, off, off + lens[i], true);
      // The outermost level's kind, also for a frame about to be dropped (the trace shows it).
      const kindBits = this.rKind << TUNNEL_KIND_SHIFT;
      flags[i] = (flags[i] & NOT_KIND) | kindBits;
      if (code === NOT_TUNNEL) {
        if (keepOther) {
          nPassed++;
          nOut++;
          continue;
        }
        code = D['not-tunnel'];
      }
      if (code === 0) {
        const vni = this.rVni;
        const entropy = this.rEntropy;
        const src = this.rSrc;
        const v6 = this.rV6;
        let inner = this.rInner;
        let end = this.rEnd;
        for (let depth = 1; depth < maxDepth || (maxDepth > 1 && depth === maxDepth); depth++) {
          const c2 = this.parseLevel(d, inner, end, false);
          if (c2 === NOT_TUNNEL) break;
          if (c2 !== 0) code = c2;
          else if (depth === maxDepth) code = D['nested-too-deep'];
          if (code !== 0) break;
          inner = this.rInner;
          end = this.rEnd;
        }
        if (code === 0) {
          const r = i << 2;
          if (v6) {
            ra[r] = ((d[src] << 24) | (d[src + 1] << 16) | (d[src + 2] << 8) | d[src + 3]) >>> 0;
            ra[r + 1] = ((d[src + 4] << 24) | (d[src + 5] << 16) | (d[src + 6] << 8) | d[src + 7]) >>> 0;
            ra[r + 2] = ((d[src + 8] << 24) | (d[src + 9] << 16) | (d[src + 10] << 8) | d[src + 11]) >>> 0;
            ra[r + 3] = ((d[src + 12] << 24) | (d[src + 13] << 16) | (d[src + 14] << 8) | d[src + 15]) >>> 0;
            flags[i] = (flags[i] | PacketFlag.DECAPPED | PacketFlag.REMOTE_V6) & ~PacketFlag.TRUNCATED;
          } else {
            ra[r] = ((d[src] << 24) | (d[src + 1] << 16) | (d[src + 2] << 8) | d[src + 3]) >>> 0;
            ra[r + 1] = 0;
            ra[r + 2] = 0;
            ra[r + 3] = 0;
            flags[i] = ((flags[i] | PacketFlag.DECAPPED) & ~PacketFlag.REMOTE_V6) & ~PacketFlag.TRUNCATED;
          }
          offs[i] = inner;
          lens[i] = end - inner;
          batch.wireLength[i] = end - inner;
          batch.vni[i] = vni;
          batch.entropy[i] = entropy;
          batch.l2[i] = 0;
          batch.l3[i] = NONE;
          batch.l4[i] = NONE;
          batch.innerL2[i] = 0;
          nOut++;
          continue;
        }
      }
      // A capture that cut the frame short is not the sender lying about lengths.
      if ((flags[i] & PacketFlag.TRUNCATED) !== 0 && (code === D['ip-bad-length'] || code === D['udp-bad-length'])) code = D['truncated'];
      drop[i] = code;
      scratch[code]++;
    }
    const k = this.counters;
    k.inFrames += nIn;
    k.outFrames += nOut;
    k.passedOther += nPassed;
    k.addDrops(scratch);
  }

  /**
   * Parse one tunnel level of the Ethernet frame d[p0, end).
   * Returns 0 (rInner/rEnd/rVni/rEntropy/rSrc/rV6 set), NOT_TUNNEL, or a drop code.
   * `outer` = apply the VNI filter (outermost level only).
   */
  private parseLevel(d: Uint8Array, p0: number, end: number, outer: boolean): number {
    const cfg = this.config;
    if (end - p0 < 14) return NOT_TUNNEL;
    // Tag walk, IPv6 extension headers and kind: the one classifier of tunnel frames (the
    // C twin in decap.cc is the same code); the bridge and the trace read what it records.
    let p = p0 + 12;
    let et = (d[p] << 8) | d[p + 1];
    for (let tags = 0; et === 0x8100 || et === 0x88a8 || et === 0x9100; tags++) {
      if (tags === 4 || p + 6 > end) return NOT_TUNNEL;
      p += 4;
      et = (d[p] << 8) | d[p + 1];
    }
    p += 2; // outer L3
    let l4: number;
    let proto: number;
    let frag: number; // 0 none, 1 first fragment, 2 later fragment
    let v6: boolean;
    if (et === 0x0800) {
      if (p + 20 > end || d[p] >> 4 !== 4) return NOT_TUNNEL;
      proto = d[p + 9];
      if (proto !== 17 && (proto !== 47 || !cfg.nvgre)) return NOT_TUNNEL;
      const ihl = (d[p] & 15) << 2;
      if (ihl < 20) return D['ip-bad-header'];
      const fo = ((d[p + 6] << 8) | d[p + 7]) & 0x3fff;
      frag = fo === 0 ? 0 : (fo & 0x1fff) === 0 ? 1 : 2;
      l4 = p + ihl;
      v6 = false;
    } else if (et === 0x86dd) {
      if (p + 40 > end || d[p] >> 4 !== 6) return NOT_TUNNEL;
      proto = d[p + 6];
      l4 = p + 40;
      frag = 0;
      // Skip hop-by-hop (0), routing (43), destination options (60); note a fragment header (44).
      for (let k = 0; proto === 0 || proto === 43 || proto === 60 || proto === 44; k++) {
        if (k === 4) return D['ip-bad-header'];
        if (l4 + 8 > end) return NOT_TUNNEL;
        if (proto === 44) {
          const fo = (d[l4 + 2] << 8) | d[l4 + 3];
          frag = (fo & 0xfff8) !== 0 ? 2 : 1;
          proto = d[l4];
          l4 += 8;
        } else {
          proto = d[l4];
          l4 += (d[l4 + 1] + 1) << 3;
        }
      }
      if (proto !== 17 && (proto !== 47 || !cfg.nvgre)) return NOT_TUNNEL;
      v6 = true;
    } else return NOT_TUNNEL;
    if (frag === 2) return D['ip-fragment']; // no L4 header to classify by: ours by protocol
    // Classify by UDP destination port / GRE protocol type.
    if (l4 + 4 > end) return NOT_TUNNEL;
    let kind: number;
    if (proto === 17) {
      kind = cfg.portType[(d[l4 + 2] << 8) | d[l4 + 3]]; // = TunnelKind
      if (kind === 0) return NOT_TUNNEL;
    } else {
      if (((d[l4 + 2] << 8) | d[l4 + 3]) !== ETH_P_TEB) return NOT_TUNNEL;
      kind = KIND_NVGRE;
    }
    if (outer) this.rKind = kind;
    // It is ours: validate the outer IP header. It must hold the L4 header classification
    // read (UDP: 8 bytes; GRE: its 4-byte base header; a short NVGRE key is 'truncated' below).
    if (frag !== 0) return D['ip-fragment'];
    const minL4 = kind === KIND_NVGRE ? 4 : 8;
    let ipEnd: number;
    if (!v6) {
      const ihl = (d[p] & 15) << 2;
      const tl = (d[p + 2] << 8) | d[p + 3];
      if (tl < ihl + minL4 || p + tl > end) return D['ip-bad-length'];
      if (cfg.verifyIp4Csum && sumFold(d, p, ihl, 0) !== 0xffff) return D['ip4-bad-checksum'];
      ipEnd = p + tl;
      this.rSrc = p + 12;
    } else {
      const pl = (d[p + 4] << 8) | d[p + 5];
      ipEnd = p + 40 + pl;
      if (ipEnd > end || l4 + minL4 > ipEnd) return D['ip-bad-length'];
      this.rSrc = p + 8;
    }
    this.rV6 = v6;
    let h: number; // tunnel header
    let tEnd: number;
    if (kind === KIND_NVGRE) {
      if (l4 + 8 > ipEnd) return D['truncated'];
      // C=0 R=0 K=1 S=0 s=0, version 0 (RFC 7637 3.2); recursion/flag bits ignored.
      if ((((d[l4] << 8) | d[l4 + 1]) & 0xf807) !== 0x2000) return D['nvgre-bad-flags'];
      this.rVni = (d[l4 + 4] << 16) | (d[l4 + 5] << 8) | d[l4 + 6];
      this.rEntropy = d[l4 + 7];
      this.rInner = l4 + 8;
      tEnd = ipEnd;
    } else {
      if (l4 + 8 > ipEnd) return D['truncated'];
      const ulen = (d[l4 + 4] << 8) | d[l4 + 5];
      if (ulen < 8 || l4 + ulen > ipEnd) return D['udp-bad-length'];
      tEnd = l4 + ulen;
      const csum = (d[l4 + 6] << 8) | d[l4 + 7];
      if (csum === 0) {
        if (v6 && !cfg.zeroCsum6Rx) return D['udp6-zero-checksum'];
      } else if (cfg.verifyUdpCsum) {
        const s = this.rSrc;
        const pseudo = sumFold(d, s, v6 ? 32 : 8, 17 + ulen);
        if (sumFold(d, l4, ulen, pseudo) !== 0xffff) return D['udp-bad-checksum'];
      }
      this.rEntropy = (d[l4] << 8) | d[l4 + 1];
      h = l4 + 8;
      if (h + 8 > tEnd) return D['truncated'];
      if (kind === KIND_VXLAN) {
        if ((d[h] & 0x08) === 0) return D['vxlan-bad-flags'];
        this.rInner = h + 8;
      } else {
        if (d[h] >> 6 !== 0) return D['geneve-bad-version'];
        const optEnd = h + 8 + ((d[h] & 63) << 2);
        if (optEnd > tEnd) return D['geneve-bad-opt-length'];
        if ((d[h + 1] & 0x80) !== 0) return D['geneve-control'];
        if (((d[h + 2] << 8) | d[h + 3]) !== ETH_P_TEB) return D['geneve-non-ethernet'];
        // Walk every option: lengths must tile the option area exactly; critical ones must be known.
        for (let q = h + 8; q < optEnd; ) {
          if (q + 4 > optEnd) return D['geneve-bad-opt-length'];
          const olen = 4 + ((d[q + 3] & 31) << 2);
          if (q + olen > optEnd) return D['geneve-bad-opt-length'];
          if ((d[q + 2] & 0x80) !== 0 && !this.knownOption((d[q] << 16) | (d[q + 1] << 8) | d[q + 2])) return D['geneve-critical-option'];
          q += olen;
        }
        this.rInner = optEnd;
      }
      this.rVni = (d[h + 4] << 16) | (d[h + 5] << 8) | d[h + 6];
    }
    const innerLen = tEnd - this.rInner;
    if (innerLen === 0) return D['zero-payload'];
    if (innerLen < 14) return D['inner-too-short'];
    const vk = cfg.vniKind;
    if (outer && vk !== null) {
      const k = (vk[this.rVni >>> 4] >>> ((this.rVni & 15) << 1)) & 3;
      if (k === 0) return D['unknown-vni'];
      if (k !== kind && cfg.checkKind) return D['tunnel-type-mismatch'];
    }
    this.rEnd = tEnd;
    return 0;
  }

  private knownOption(key: number): boolean {
    const k = this.config.geneveKnown;
    for (let j = 0; j < k.length; j++) if (k[j] === key) return true;
    return false;
  }
}

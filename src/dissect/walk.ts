/**
 * walkFrame: the zero-allocation layer walker. It decodes every header of a
 * frame, outermost first, through nested tunnels (VXLAN / GENEVE by UDP
 * destination port, GRE, NVGRE), and records the layer stack (kind, offset,
 * decode bound) and why it stopped into typed arrays of a reused WalkState.
 * Formatters re-decode from those offsets; the fast path only needs the stack.
 *
 * Bounds: the capture end, narrowed by IPv4 total length / IPv6 payload
 * length / UDP length (so Ethernet padding is never parsed as a header). When
 * a length field claims more bytes than were captured, a header that starts
 * at the captured end is reported as truncated rather than "no more layers".
 *
 * Speed: the common shapes of the hot headers (Ethernet II, VLAN, IPv4, IPv6
 * without extension headers, UDP, VXLAN, GENEVE without options, TCP) are
 * decoded inline through a DataView (one bounds-checked load per 16/32-bit
 * field instead of one per byte) into the same codec states, with the same
 * field values the codecs produce; anything else (errors, 802.3, options,
 * extension headers, ARP, GRE, NVGRE, ICMP) goes through the codec, so error
 * codes always come from one place. test/dissect/walk-state.test.ts checks
 * the inline paths against the codecs.
 */
import { decodeEthernet } from '../packet/ethernet.js';
import { decodeArp } from '../packet/arp.js';
import { decodeIpv4 } from '../packet/ipv4.js';
import { decodeIpv6 } from '../packet/ipv6.js';
import { decodeUdp } from '../packet/udp.js';
import { decodeGre } from '../packet/gre.js';
import { decodeNvgre, isNvgre } from '../packet/nvgre.js';
import { decodeGeneve } from '../packet/geneve.js';
import { decodeTcp, decodeIcmp } from '../packet/l4.js';
import { TRUNCATED } from '../packet/decode-error.js';
import { decodeMpls, decodePwCw } from '../packet/mpls.js';
import {
  L_NONE, L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_GRE, L_NVGRE, L_VXLAN, L_GENEVE, L_MPLS, L_PWCW,
  S_END, S_UNKNOWN, S_FRAGMENT, S_ERROR, S_LAYER_LIMIT, S_TUNNEL_LIMIT,
} from './layers.js';
import {
  WalkState, MAX_LAYERS, DONE, UDP_VXLAN, UDP_GENEVE, IPV6_EXT, etherNext, ipNext, viewFor, tunnelNext, mplsPayload,
} from './walk-state.js';

export { WalkState, MAX_LAYERS, DEFAULT_MAX_TUNNELS, UDP_VXLAN, UDP_GENEVE, type WalkOptions } from './walk-state.js';

/** Walk the frame at [off, off+len). Returns the number of layers recorded. */
export function walkFrame(b: Uint8Array, off: number, len: number, st: WalkState): number {
  let p = off;
  let end = off + len;
  // Bytes the enclosing length fields claim exist (> end when the capture cut the frame).
  let claimed = end;
  let bounded = false;
  // Kind of the next header; L_NONE = payload we do not decode, -1 = behind a later fragment, DONE.
  let next = L_ETH;
  let n = 0;
  let tunnels = 0;
  let r = 0;
  let stop = S_END;
  const kind = st.kind;
  const offs = st.offset;
  const ends = st.end;
  const v = st.viewOf === b ? st.view : viewFor(b, st);
  let errKind = L_NONE;
  st.base = off;
  for (;;) {
    const k = next;
    if (k <= 0) {
      // DONE: a terminal layer was decoded; what follows is its payload.
      if (k !== DONE && p < end) stop = k === 0 ? S_UNKNOWN : S_FRAGMENT;
      break;
    }
    if (p >= end) {
      // Cut where a length field says more follows, or where a header was announced
      // before any length field bounded the frame (capture end = only bound).
      if (p < claimed || !bounded) { r = TRUNCATED; stop = S_ERROR; errKind = k; }
      break;
    }
    if (n === MAX_LAYERS) { stop = S_LAYER_LIMIT; break; }
    // An if chain in frequency order, not a switch: conditional branches follow the
    // layer sequence better than one indirect jump.
    sw: {
      if (k === L_ETH) {
        const t = p + 14 <= end ? v.getUint16(p + 12) : 0;
        if (t >= 0x0600) {
          const s = st.eth;
          s.dstHi = v.getUint16(p);
          s.dstLo = v.getUint32(p + 2);
          s.srcHi = v.getUint16(p + 6);
          s.srcLo = v.getUint32(p + 8);
          s.type = t;
          s.length8023 = -1;
          r = 14;
          next = etherNext(t);
        } else {
          r = decodeEthernet(b, p, end, st.eth);
          next = etherNext(st.eth.type);
        }
        break sw;
      }
      if (k === L_IPV4) {
        // Inline when the header is well formed (version 4, IHL >= 5, captured, total >= IHL).
        const w0 = p + 20 <= end ? v.getUint32(p) : 0;
        const hl = (w0 >>> 22) & 0x3c;
        const total = w0 & 0xffff;
        const s = st.ip4;
        if (w0 >>> 28 === 4 && hl >= 20 && p + hl <= end && total >= hl) {
          s.headerLength = hl;
          s.tos = (w0 >>> 16) & 0xff;
          s.totalLength = total;
          const w1 = v.getUint32(p + 4);
          s.id = w1 >>> 16;
          s.df = (w1 >>> 14) & 1;
          s.mf = (w1 >>> 13) & 1;
          s.fragOffset = w1 & 0x1fff;
          const w2 = v.getUint32(p + 8);
          s.ttl = w2 >>> 24;
          s.proto = (w2 >>> 16) & 0xff;
          s.checksum = w2 & 0xffff;
          s.src = v.getUint32(p + 12);
          s.dst = v.getUint32(p + 16);
          r = hl;
        } else {
          r = decodeIpv4(b, p, end, s);
          if (r < 0) break sw;
        }
        const ipEnd = p + total;
        claimed = ipEnd;
        bounded = true;
        if (ipEnd < end) end = ipEnd;
        next = s.fragOffset !== 0 ? -1 : ipNext(s.proto);
        break sw;
      }
      if (k === L_UDP) {
        const s = st.udp;
        const len = p + 8 <= end ? v.getUint16(p + 4) : 0;
        if (len >= 8) {
          const w = v.getUint32(p);
          s.sport = w >>> 16;
          s.dport = w & 0xffff;
          s.length = len;
          s.checksum = v.getUint16(p + 6);
          r = 8;
        } else {
          r = decodeUdp(b, p, end, s);
          if (r < 0) break sw;
        }
        const uEnd = p + len;
        claimed = uEnd;
        bounded = true;
        if (uEnd < end) end = uEnd;
        const t = st.udpTunnel[s.dport];
        next = t === UDP_VXLAN ? L_VXLAN : t === UDP_GENEVE ? L_GENEVE : L_NONE;
        break sw;
      }
      if (k === L_TCP) {
        const hl = p + 20 <= end ? (b[p + 12] >>> 4) << 2 : 0;
        const s = st.tcp;
        if (hl >= 20 && p + hl <= end) {
          const w = v.getUint32(p);
          s.sport = w >>> 16;
          s.dport = w & 0xffff;
          s.seq = v.getUint32(p + 4);
          s.ack = v.getUint32(p + 8);
          s.headerLength = hl;
          const w3 = v.getUint32(p + 12);
          s.flags = (w3 >>> 16) & 0x1ff;
          s.window = w3 & 0xffff;
          r = hl;
        } else {
          r = decodeTcp(b, p, end, s);
        }
        next = DONE;
        break sw;
      }
      if (k === L_VXLAN) {
        if (p + 8 > end) { r = TRUNCATED; break sw; }
        const s = st.vxlan;
        s.flags = b[p];
        s.vni = v.getUint32(p + 4) >>> 8;
        r = 8;
        next = L_ETH;
        break sw;
      }
      if (k === L_GENEVE) {
        const s = st.geneve;
        const w0 = p + 8 <= end ? v.getUint32(p) : -1;
        if (w0 >>> 24 === 0) {
          // Version 0 without options; anything else (options included) is the codec's.
          s.version = 0;
          s.optLength = 0;
          s.oam = (w0 >>> 23) & 1;
          s.critical = (w0 >>> 22) & 1;
          s.protocol = w0 & 0xffff;
          s.vni = v.getUint32(p + 4) >>> 8;
          s.optCount = 0;
          s.criticalOptCount = 0;
          r = 8;
        } else {
          r = decodeGeneve(b, p, end, s);
        }
        next = tunnelNext(s.protocol);
        break sw;
      }
      if (k === L_VLAN) {
        if (p + 4 > end) { r = TRUNCATED; break sw; }
        const s = st.vlan;
        const tci = v.getUint16(p);
        s.pcp = tci >>> 13;
        s.dei = (tci >>> 12) & 1;
        s.vid = tci & 0xfff;
        const t = v.getUint16(p + 2);
        s.type = t;
        r = 4;
        next = etherNext(t);
        break sw;
      }
      if (k === L_IPV6) {
        const s = st.ip6;
        const w0 = p + 40 <= end ? v.getUint32(p) : 0;
        const nh = w0 !== 0 ? b[p + 6] : 0;
        if (w0 >>> 28 === 6 && IPV6_EXT[nh] === 0) {
          // No extension headers: the fixed header is the whole layer.
          s.trafficClass = (w0 >>> 20) & 0xff;
          s.flowLabel = w0 & 0xfffff;
          s.payloadLength = v.getUint16(p + 4);
          s.next = nh;
          s.hlim = b[p + 7];
          s.fragment = 0;
          s.fragOffset = 0;
          s.fragMore = 0;
          s.fragId = 0;
          s.upper = nh;
          s.extCount = 0;
          s.extLength = 0;
          r = 40;
        } else {
          r = decodeIpv6(b, p, end, s);
          if (r < 0) break sw;
        }
        // Payload length 0 is a jumbogram (or a lie): keep the captured end.
        if (s.payloadLength !== 0) {
          const ipEnd = p + 40 + s.payloadLength;
          claimed = ipEnd;
          bounded = true;
          if (ipEnd < end) end = ipEnd;
        }
        next = s.fragment === 2 ? -1 : ipNext(s.upper);
        break sw;
      }
      if (k === L_GRE) {
        r = decodeGre(b, p, end, st.gre);
        next = tunnelNext(st.gre.protocol);
        break sw;
      }
      if (k === L_NVGRE) {
        r = decodeNvgre(b, p, end, st.nvgre);
        next = L_ETH;
        break sw;
      }
      if (k === L_MPLS) {
        r = decodeMpls(b, p, end, st.mpls);
        if (r < 0) break sw;
        // Below the bottom entry: guessed from the first nibble (no bytes left: the walk ends there).
        next = st.mpls.bos === 0 ? L_MPLS : p + 4 < end ? mplsPayload(b[p + 4] >>> 4) : DONE;
        break sw;
      }
      if (k === L_PWCW) {
        r = decodePwCw(b, p, end, st.pwcw);
        next = L_ETH;
        break sw;
      }
      if (k === L_ARP) {
        r = decodeArp(b, p, end, st.arp);
        next = DONE;
        break sw;
      }
      { // L_ICMP, L_ICMPV6
        r = decodeIcmp(b, p, end, st.icmp);
        next = DONE;
        break sw;
      }
    }
    if (r < 0) { stop = S_ERROR; errKind = k; break; }
    kind[n] = k;
    offs[n] = p;
    ends[n] = end;
    n++;
    p += r;
    // Tunnel bookkeeping (tunnel kinds are the highest codes: one compare on the
    // common path): GRE with the NVGRE shape is NVGRE; count nesting depth.
    if (next >= L_GRE) {
      if (next === L_GRE && p + 4 <= end && isNvgre(b, p)) next = L_NVGRE;
      if (tunnels === st.maxTunnels) { stop = S_TUNNEL_LIMIT; break; }
      tunnels++;
    }
  }
  st.error = stop === S_ERROR ? r : 0;
  st.errorKind = errKind;
  st.count = n;
  st.stop = stop;
  st.stopOffset = p;
  st.tunnels = tunnels;
  return n;
}

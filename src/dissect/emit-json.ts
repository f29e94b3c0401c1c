/**
 * The JSON line of format-json.ts, written as bytes into a ByteOut: the same
 * text byte for byte (test/dissect/emit.test.ts), without building strings.
 * The common header shapes are written from the frame's bytes; anything else
 * (802.3, fragments, IPv6 extension headers, GRE, ARP, MPLS, walk errors) goes through the string formatter, so each field's
 * wording lives in one place.
 */
import { ipv4ChecksumOk } from '../packet/ipv4.js';
import type { ByteOut } from './byte-out.js';
import { lit, w3, wDec, wDec9, wHex16, wIpv4, wIpv6, wLit, wMac, wSec } from './byte-write.js';
import { L_ETH, L_VLAN, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_VXLAN, L_GENEVE, L_NVGRE } from './layers.js';
import { IPV6_EXT, type WalkState } from './walk-state.js';
import { layerJson } from './format-json.js';
import { walkErrorMessage } from './describe.js';

const K_FRAME = lit('{"frame":'), K_TS = lit(',"ts":"'), K_CAPLEN = lit('","caplen":'), K_LEN = lit(',"len":');
const K_LAYERS = lit(',"layers":['), K_END = lit(']}\n'), K_ERR = lit('],"error":');
const K_ETH = lit('{"proto":"eth","src":"'), K_DST = lit('","dst":"'), K_TYPE = lit('","type":"'), K_QB = lit('"}');
const K_VLAN = lit('{"proto":"vlan","tpid":"'), K_VID = lit('","vid":'), K_PCP = lit(',"pcp":'), K_DEI = lit(',"dei":');
const K_IP4 = lit('{"proto":"ipv4","src":"'), K_TTL = lit('","ttl":'), K_PROTOCOL = lit(',"protocol":');
const K_CSOK = lit(',"checksumOk":true}'), K_CSBAD = lit(',"checksumOk":false}');
const K_IP6 = lit('{"proto":"ipv6","src":"'), K_HLIM = lit('","hlim":'), K_NEXT = lit(',"next":');
const K_UDP = lit('{"proto":"udp","sport":'), K_DPORT = lit(',"dport":'), K_CSUM = lit(',"checksum":');
const K_TCP = lit('{"proto":"tcp","sport":');
const K_ICMP = lit('{"proto":"icmp","type":'), K_ICMP6 = lit('{"proto":"icmpv6","type":'), K_CODE = lit(',"code":');
const K_VXLAN = lit('{"proto":"vxlan","vni":'), K_FLAGS = lit(',"flags":');
const K_GENEVE = lit('{"proto":"geneve","vni":'), K_GPROTO = lit(',"protocol":"'), K_OAM = lit('","oam":');
const K_CRIT = lit(',"critical":'), K_NOOPTS = lit(',"options":[]}'), K_TRUE = lit('true'), K_FALSE = lit('false');
const K_OPTS = lit(',"options":['), K_OCLASS = lit('{"class":"'), K_OTYPE = lit('","type":'), K_OLEN = lit(',"length":'), K_OEND = lit(']}');
const K_NVGRE = lit('{"proto":"nvgre","vsid":'), K_FLOW = lit(',"flowId":');

// One function per common layer shape, each returning the new position or -1
// (shape not covered: the caller writes the string formatter's JSON instead).
// Kept apart so each gets its own inlining budget for the byte-write helpers.

function eth(o: DataView, w: number, b: Uint8Array, p: number): number {
  const t = (b[p + 12] << 8) | b[p + 13];
  if (t < 0x0600) return -1;
  w = wLit(o, w, K_ETH); w = wMac(o, w, b, p + 6); w = wLit(o, w, K_DST); w = wMac(o, w, b, p); w = wLit(o, w, K_TYPE);
  w = wHex16(o, w, t); return wLit(o, w, K_QB);
}

function vlan(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_VLAN); w = wHex16(o, w, (b[p - 2] << 8) | b[p - 1]);
  w = wLit(o, w, K_VID); w = wDec(o, w, ((b[p] & 15) << 8) | b[p + 1]); w = wLit(o, w, K_PCP); w = w3(o, w, b[p] >>> 5);
  w = wLit(o, w, K_DEI); w = w3(o, w, (b[p] >>> 4) & 1); o.setUint8(w, 125);
  return w + 1;
}

function ipv4(o: DataView, w: number, b: Uint8Array, p: number): number {
  if ((b[p + 6] & 0x3f) !== 0 || b[p + 7] !== 0) return -1; // MF or an offset: the fragment fields
  w = wLit(o, w, K_IP4); w = wIpv4(o, w, b, p + 12); w = wLit(o, w, K_DST); w = wIpv4(o, w, b, p + 16);
  w = wLit(o, w, K_TTL); w = w3(o, w, b[p + 8]); w = wLit(o, w, K_PROTOCOL); w = w3(o, w, b[p + 9]);
  return wLit(o, w, ipv4ChecksumOk(b, p, (b[p] & 15) << 2) ? K_CSOK : K_CSBAD);
}

function ipv6(o: DataView, w: number, b: Uint8Array, p: number): number {
  if (IPV6_EXT[b[p + 6]] !== 0) return -1;
  w = wLit(o, w, K_IP6); w = wIpv6(o, w, b, p + 8); w = wLit(o, w, K_DST); w = wIpv6(o, w, b, p + 24);
  w = wLit(o, w, K_HLIM); w = w3(o, w, b[p + 7]); w = wLit(o, w, K_NEXT); w = w3(o, w, b[p + 6]); o.setUint8(w, 125);
  return w + 1;
}

function udp(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_UDP); w = wDec(o, w, (b[p] << 8) | b[p + 1]); w = wLit(o, w, K_DPORT); w = wDec(o, w, (b[p + 2] << 8) | b[p + 3]);
  w = wLit(o, w, K_CSUM); w = wDec(o, w, (b[p + 6] << 8) | b[p + 7]); o.setUint8(w, 125);
  return w + 1;
}

function geneve(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_GENEVE); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]);
  w = wLit(o, w, K_GPROTO); w = wHex16(o, w, (b[p + 2] << 8) | b[p + 3]);
  w = wLit(o, w, K_OAM); w = wLit(o, w, b[p + 1] & 0x80 ? K_TRUE : K_FALSE);
  w = wLit(o, w, K_CRIT); w = wLit(o, w, b[p + 1] & 0x40 ? K_TRUE : K_FALSE);
  const stop = p + 8 + ((b[p] & 0x3f) << 2);
  if (stop === p + 8) return wLit(o, w, K_NOOPTS);
  // The walker recorded this layer, so its options parsed: walk them again from the bytes
  // (the codec state holds the last GENEVE header of the frame, not necessarily this one).
  w = wLit(o, w, K_OPTS);
  for (let q = p + 8; q < stop; q += 4 + ((b[q + 3] & 0x1f) << 2)) {
    if (q !== p + 8) o.setUint8(w++, 44);
    w = wLit(o, w, K_OCLASS); w = wHex16(o, w, (b[q] << 8) | b[q + 1]); w = wLit(o, w, K_OTYPE); w = w3(o, w, b[q + 2]);
    w = wLit(o, w, K_OLEN); w = w3(o, w, (b[q + 3] & 0x1f) << 2); o.setUint8(w++, 125);
  }
  return wLit(o, w, K_OEND);
}

/** Layer `i` at `w`; -1 when the string formatter must write it. */
function layer(o: DataView, w: number, b: Uint8Array, st: WalkState, i: number): number {
  const p = st.offset[i];
  switch (st.kind[i]) {
    case L_ETH: return eth(o, w, b, p);
    case L_VLAN: return vlan(o, w, b, p);
    case L_IPV4: return ipv4(o, w, b, p);
    case L_IPV6: return ipv6(o, w, b, p);
    case L_UDP: return udp(o, w, b, p);
    case L_TCP:
      w = wLit(o, w, K_TCP); w = wDec(o, w, (b[p] << 8) | b[p + 1]); w = wLit(o, w, K_DPORT); w = wDec(o, w, (b[p + 2] << 8) | b[p + 3]);
      o.setUint8(w, 125); return w + 1;
    case L_ICMP:
    case L_ICMPV6:
      w = wLit(o, w, st.kind[i] === L_ICMP ? K_ICMP : K_ICMP6); w = w3(o, w, b[p]); w = wLit(o, w, K_CODE); w = w3(o, w, b[p + 1]);
      o.setUint8(w, 125); return w + 1;
    case L_VXLAN:
      w = wLit(o, w, K_VXLAN); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); w = wLit(o, w, K_FLAGS); w = w3(o, w, b[p]);
      o.setUint8(w, 125); return w + 1;
    case L_GENEVE: return geneve(o, w, b, p);
    case L_NVGRE:
      w = wLit(o, w, K_NVGRE); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); w = wLit(o, w, K_FLOW); w = w3(o, w, b[p + 7]);
      o.setUint8(w, 125); return w + 1;
  }
  return -1;
}

/** One frame as a JSON line (with its newline). */
export function emitFrameJson(
  out: ByteOut, b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number,
): void {
  let o = out.view;
  let w = wLit(o, out.pos, K_FRAME); w = wDec(o, w, frame); w = wLit(o, w, K_TS); w = wSec(o, w, tsSec); o.setUint8(w++, 46);
  w = wDec9(o, w, tsNsec); w = wLit(o, w, K_CAPLEN); w = wDec(o, w, caplen); w = wLit(o, w, K_LEN); w = wDec(o, w, len);
  w = wLit(o, w, K_LAYERS);
  for (let i = 0; i < st.count; i++) {
    if (i) o.setUint8(w++, 44);
    const e = layer(o, w, b, st, i);
    if (e >= 0) { w = e; continue; }
    out.pos = w; out.str(layerJson(b, st, i)); o = out.view; w = out.pos;
  }
  out.pos = w;
  const err = st.stop === 0 ? null : walkErrorMessage(st);
  if (err === null) { out.lit(K_END); return; }
  out.lit(K_ERR); out.str(JSON.stringify(err)); out.byte(125); out.byte(10);
}

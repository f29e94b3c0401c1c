/**
 * The text line of format-text.ts, written as bytes into a ByteOut: the same
 * text byte for byte (test/dissect/emit.test.ts). Common header shapes are
 * written from the frame's bytes; the rest through the string formatter.
 */
import type { ByteOut } from './byte-out.js';
import { lit, w3, wDec, wDec9, wHex, wHex16, wIpv4, wIpv6, wLit, wMac, wSec } from './byte-write.js';
import {
  L_ETH, L_VLAN, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_VXLAN, L_GENEVE, L_NVGRE, S_END, S_UNKNOWN, S_FRAGMENT,
} from './layers.js';
import { IPV6_EXT, type WalkState } from './walk-state.js';
import { layerText } from './format-text.js';
import { walkErrorMessage } from './describe.js';

const K_GT = lit(' > '), K_ETYPE = lit(' ethertype '), K_VLAN = lit('vlan '), K_P = lit(' p '), K_DEI = lit(' dei');
const K_IP = lit('IP '), K_TTL = lit(' ttl '), K_PROTO = lit(' proto '), K_LEN = lit(' len ');
const K_IP6 = lit('IP6 '), K_HLIM = lit(' hlim '), K_NEXT = lit(' next '), K_PLEN = lit(' plen ');
const K_UDP = lit('UDP '), K_TCP = lit('TCP '), K_ICMP = lit('ICMP type '), K_ICMP6 = lit('ICMP6 type '), K_CODE = lit(' code ');
const K_VXLAN = lit('VXLAN vni '), K_FLAGS = lit(' flags 0x'), K_GENEVE = lit('GENEVE vni '), K_O = lit(' O'), K_C = lit(' C');
const K_DATA = lit(', data '), K_BYTES = lit(' bytes'), K_FRAG = lit(', fragment data');
const K_ERR = lit(' [error: '), K_CAP = lit(' (caplen '), K_OF = lit(' of ');
/** ` [PA]` for each value of the TCP flags byte, as one literal each (a table, not a loop over 8 bits per frame). */
const TCP_FLAGS = Array.from({ length: 256 }, (_, f) => lit(` [${f === 0 ? '.' : [...'FSRPAUEC'].filter((_c, j) => f & (1 << j)).join('')}]`));
const K_OPTS = lit(' options ['), K_CLASS = lit('class '), K_TYPE = lit(' type 0x'), K_LEN2 = lit(' len '), K_SEMI = lit('; ');
const K_NVGRE = lit('NVGRE vsid '), K_FLOWID = lit(' flowid ');

// One function per common layer shape, each returning the new position or -1
// (shape not covered: the caller writes the string formatter's text instead).
// Kept apart so each gets its own inlining budget for the byte-write helpers.

function eth(o: DataView, w: number, b: Uint8Array, p: number): number {
  const t = (b[p + 12] << 8) | b[p + 13];
  if (t < 0x0600) return -1;
  w = wMac(o, w, b, p + 6); w = wLit(o, w, K_GT); w = wMac(o, w, b, p); w = wLit(o, w, K_ETYPE);
  return wHex16(o, w, t);
}

function vlan(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_VLAN); w = wDec(o, w, ((b[p] & 15) << 8) | b[p + 1]); w = wLit(o, w, K_P); w = w3(o, w, b[p] >>> 5);
  if (b[p] & 0x10) w = wLit(o, w, K_DEI);
  o.setUint8(w, 32); o.setUint8(w + 1, 40); w = wHex16(o, w + 2, (b[p - 2] << 8) | b[p - 1]); o.setUint8(w, 41);
  return w + 1;
}

function ipv4(o: DataView, w: number, b: Uint8Array, p: number): number {
  if ((b[p + 6] & 0x3f) !== 0 || b[p + 7] !== 0) return -1;
  w = wLit(o, w, K_IP); w = wIpv4(o, w, b, p + 12); w = wLit(o, w, K_GT); w = wIpv4(o, w, b, p + 16);
  w = wLit(o, w, K_TTL); w = w3(o, w, b[p + 8]); w = wLit(o, w, K_PROTO); w = w3(o, w, b[p + 9]);
  w = wLit(o, w, K_LEN); return wDec(o, w, (b[p + 2] << 8) | b[p + 3]);
}

function ipv6(o: DataView, w: number, b: Uint8Array, p: number): number {
  if (IPV6_EXT[b[p + 6]] !== 0) return -1;
  w = wLit(o, w, K_IP6); w = wIpv6(o, w, b, p + 8); w = wLit(o, w, K_GT); w = wIpv6(o, w, b, p + 24);
  w = wLit(o, w, K_HLIM); w = w3(o, w, b[p + 7]); w = wLit(o, w, K_NEXT); w = w3(o, w, b[p + 6]);
  w = wLit(o, w, K_PLEN); return wDec(o, w, (b[p + 4] << 8) | b[p + 5]);
}

function udp(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_UDP); w = wDec(o, w, (b[p] << 8) | b[p + 1]); w = wLit(o, w, K_GT); w = wDec(o, w, (b[p + 2] << 8) | b[p + 3]);
  w = wLit(o, w, K_LEN); return wDec(o, w, ((b[p + 4] << 8) | b[p + 5]) - 8);
}

function tcp(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_TCP); w = wDec(o, w, (b[p] << 8) | b[p + 1]); w = wLit(o, w, K_GT); w = wDec(o, w, (b[p + 2] << 8) | b[p + 3]);
  return wLit(o, w, TCP_FLAGS[b[p + 13]]);
}

function geneve(o: DataView, w: number, b: Uint8Array, p: number): number {
  w = wLit(o, w, K_GENEVE); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]);
  w = wLit(o, w, K_PROTO); w = wHex16(o, w, (b[p + 2] << 8) | b[p + 3]);
  if (b[p + 1] & 0x80) w = wLit(o, w, K_O);
  if (b[p + 1] & 0x40) w = wLit(o, w, K_C);
  const stop = p + 8 + ((b[p] & 0x3f) << 2);
  if (stop === p + 8) return w;
  // Options parsed when the walker recorded the layer; walked again from the bytes.
  w = wLit(o, w, K_OPTS);
  for (let q = p + 8; q < stop; q += 4 + ((b[q + 3] & 0x1f) << 2)) {
    if (q !== p + 8) w = wLit(o, w, K_SEMI);
    w = wLit(o, w, K_CLASS); w = wHex16(o, w, (b[q] << 8) | b[q + 1]); w = wLit(o, w, K_TYPE); w = wHex(o, w, b[q + 2]);
    w = wLit(o, w, K_LEN2); w = w3(o, w, (b[q + 3] & 0x1f) << 2);
  }
  o.setUint8(w, 93);
  return w + 1;
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
    case L_TCP: return tcp(o, w, b, p);
    case L_ICMP:
    case L_ICMPV6:
      w = wLit(o, w, st.kind[i] === L_ICMP ? K_ICMP : K_ICMP6); w = w3(o, w, b[p]); w = wLit(o, w, K_CODE);
      return w3(o, w, b[p + 1]);
    case L_VXLAN:
      w = wLit(o, w, K_VXLAN); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); w = wLit(o, w, K_FLAGS);
      return wHex(o, w, b[p]);
    case L_GENEVE: return geneve(o, w, b, p);
    case L_NVGRE:
      w = wLit(o, w, K_NVGRE); w = wDec(o, w, (b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); w = wLit(o, w, K_FLOWID);
      return w3(o, w, b[p + 7]);
  }
  return -1;
}

/** One frame as a text line (with its newline). */
export function emitFrameText(
  out: ByteOut, b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number,
): void {
  let o = out.view;
  let w = wDec(o, out.pos, frame); o.setUint8(w++, 32); w = wSec(o, w, tsSec); o.setUint8(w++, 46); w = wDec9(o, w, tsNsec);
  for (let i = 0; i < st.count; i++) {
    if (i) { o.setUint16(w, 0x202c, true); w += 2; } else o.setUint8(w++, 32);
    const e = layer(o, w, b, st, i);
    if (e >= 0) { w = e; continue; }
    out.pos = w; out.str(layerText(b, st, i)); o = out.view; w = out.pos;
  }
  out.pos = w;
  if (st.stop === S_UNKNOWN) { const n = st.end[st.count - 1] - st.stopOffset; out.lit(K_DATA); out.dec(n > 0 ? n : 0); out.lit(K_BYTES); }
  if (st.stop === S_FRAGMENT) out.lit(K_FRAG);
  if (st.stop !== S_END) {
    const err = walkErrorMessage(st);
    if (err !== null) { out.lit(K_ERR); out.str(err); out.byte(93); }
  }
  if (caplen !== len) { out.lit(K_CAP); out.dec(caplen); out.lit(K_OF); out.dec(len); out.byte(41); }
  out.byte(10);
}

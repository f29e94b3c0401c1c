/**
 * The text line of format-text.ts, written as bytes into a ByteOut: the same
 * text byte for byte (test/dissect/emit.test.ts). Common header shapes are
 * written from the frame's bytes; the rest through the string formatter.
 */
import { ByteOut, lit } from './byte-out.js';
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
const K_SEP = lit(', '), K_DATA = lit(', data '), K_BYTES = lit(' bytes'), K_FRAG = lit(', fragment data');
const K_ERR = lit(' [error: '), K_CAP = lit(' (caplen '), K_OF = lit(' of ');
const TCP_FLAGS = lit('FSRPAUEC');
const K_OPTS = lit(' options ['), K_CLASS = lit('class '), K_TYPE = lit(' type 0x'), K_LEN2 = lit(' len '), K_SEMI = lit('; ');
const K_NVGRE = lit('NVGRE vsid '), K_FLOWID = lit(' flowid ');

function layer(o: ByteOut, b: Uint8Array, st: WalkState, i: number): void {
  const p = st.offset[i];
  switch (st.kind[i]) {
    case L_ETH: {
      const t = (b[p + 12] << 8) | b[p + 13];
      if (t < 0x0600) break;
      o.mac(b, p + 6); o.lit(K_GT); o.mac(b, p); o.lit(K_ETYPE); o.hex16(t);
      return;
    }
    case L_VLAN:
      o.lit(K_VLAN); o.dec(((b[p] & 15) << 8) | b[p + 1]); o.lit(K_P); o.dec(b[p] >>> 5);
      if (b[p] & 0x10) o.lit(K_DEI);
      o.byte(32); o.byte(40); o.hex16((b[p - 2] << 8) | b[p - 1]); o.byte(41);
      return;
    case L_IPV4:
      if ((b[p + 6] & 0x3f) !== 0 || b[p + 7] !== 0) break;
      o.lit(K_IP); o.ipv4(b, p + 12); o.lit(K_GT); o.ipv4(b, p + 16); o.lit(K_TTL); o.dec(b[p + 8]);
      o.lit(K_PROTO); o.dec(b[p + 9]); o.lit(K_LEN); o.dec((b[p + 2] << 8) | b[p + 3]);
      return;
    case L_IPV6:
      if (IPV6_EXT[b[p + 6]] !== 0) break;
      o.lit(K_IP6); o.ipv6(b, p + 8); o.lit(K_GT); o.ipv6(b, p + 24);
      o.lit(K_HLIM); o.dec(b[p + 7]); o.lit(K_NEXT); o.dec(b[p + 6]); o.lit(K_PLEN); o.dec((b[p + 4] << 8) | b[p + 5]);
      return;
    case L_UDP:
      o.lit(K_UDP); o.dec((b[p] << 8) | b[p + 1]); o.lit(K_GT); o.dec((b[p + 2] << 8) | b[p + 3]);
      o.lit(K_LEN); o.dec(((b[p + 4] << 8) | b[p + 5]) - 8);
      return;
    case L_TCP: {
      o.lit(K_TCP); o.dec((b[p] << 8) | b[p + 1]); o.lit(K_GT); o.dec((b[p + 2] << 8) | b[p + 3]); o.byte(32); o.byte(91);
      const f = b[p + 13];
      if (f === 0) o.byte(46);
      else for (let j = 0; j < 8; j++) if (f & (1 << j)) o.byte(TCP_FLAGS[j]);
      o.byte(93);
      return;
    }
    case L_ICMP:
    case L_ICMPV6:
      o.lit(st.kind[i] === L_ICMP ? K_ICMP : K_ICMP6); o.dec(b[p]); o.lit(K_CODE); o.dec(b[p + 1]);
      return;
    case L_VXLAN:
      o.lit(K_VXLAN); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); o.lit(K_FLAGS); o.hex(b[p]);
      return;
    case L_GENEVE: {
      o.lit(K_GENEVE); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); o.lit(K_PROTO); o.hex16((b[p + 2] << 8) | b[p + 3]);
      if (b[p + 1] & 0x80) o.lit(K_O);
      if (b[p + 1] & 0x40) o.lit(K_C);
      const stop = p + 8 + ((b[p] & 0x3f) << 2);
      if (stop === p + 8) return;
      // Options parsed when the walker recorded the layer; walked again from the bytes.
      o.lit(K_OPTS);
      for (let q = p + 8; q < stop; q += 4 + ((b[q + 3] & 0x1f) << 2)) {
        if (q !== p + 8) o.lit(K_SEMI);
        o.lit(K_CLASS); o.hex16((b[q] << 8) | b[q + 1]); o.lit(K_TYPE); o.hex(b[q + 2]); o.lit(K_LEN2); o.dec((b[q + 3] & 0x1f) << 2);
      }
      o.byte(93);
      return;
    }
    case L_NVGRE:
      o.lit(K_NVGRE); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); o.lit(K_FLOWID); o.dec(b[p + 7]);
      return;
  }
  o.str(layerText(b, st, i));
}

/** One frame as a text line (with its newline). */
export function emitFrameText(
  o: ByteOut, b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number,
): void {
  o.dec(frame); o.byte(32); o.dec(tsSec); o.byte(46); o.dec9(tsNsec);
  for (let i = 0; i < st.count; i++) {
    if (i) o.lit(K_SEP); else o.byte(32);
    layer(o, b, st, i);
  }
  if (st.stop === S_UNKNOWN) { const n = st.end[st.count - 1] - st.stopOffset; o.lit(K_DATA); o.dec(n > 0 ? n : 0); o.lit(K_BYTES); }
  if (st.stop === S_FRAGMENT) o.lit(K_FRAG);
  if (st.stop !== S_END) {
    const err = walkErrorMessage(st);
    if (err !== null) { o.lit(K_ERR); o.str(err); o.byte(93); }
  }
  if (caplen !== len) { o.lit(K_CAP); o.dec(caplen); o.lit(K_OF); o.dec(len); o.byte(41); }
  o.byte(10);
}

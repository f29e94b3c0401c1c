/**
 * The JSON line of format-json.ts, written as bytes into a ByteOut: the same
 * text byte for byte (test/dissect/emit.test.ts), without building strings.
 * The common header shapes are written from the frame's bytes; anything else
 * (802.3, fragments, IPv6 extension headers, GRE, ARP, MPLS, walk errors) goes through the string formatter, so each field's
 * wording lives in one place.
 */
import { ipv4ChecksumOk } from '../packet/ipv4.js';
import { ByteOut, lit } from './byte-out.js';
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

/** Layer `i` of the walk as JSON. */
function layer(o: ByteOut, b: Uint8Array, st: WalkState, i: number): void {
  const p = st.offset[i];
  switch (st.kind[i]) {
    case L_ETH: {
      const t = (b[p + 12] << 8) | b[p + 13];
      if (t < 0x0600) break;
      o.lit(K_ETH); o.mac(b, p + 6); o.lit(K_DST); o.mac(b, p); o.lit(K_TYPE); o.hex16(t); o.lit(K_QB);
      return;
    }
    case L_VLAN:
      o.lit(K_VLAN); o.hex16((b[p - 2] << 8) | b[p - 1]);
      o.lit(K_VID); o.dec(((b[p] & 15) << 8) | b[p + 1]); o.lit(K_PCP); o.dec(b[p] >>> 5); o.lit(K_DEI); o.dec((b[p] >>> 4) & 1); o.byte(125);
      return;
    case L_IPV4: {
      if ((b[p + 6] & 0x3f) !== 0 || b[p + 7] !== 0) break; // MF or an offset: the fragment fields
      o.lit(K_IP4); o.ipv4(b, p + 12); o.lit(K_DST); o.ipv4(b, p + 16);
      o.lit(K_TTL); o.dec(b[p + 8]); o.lit(K_PROTOCOL); o.dec(b[p + 9]);
      o.lit(ipv4ChecksumOk(b, p, (b[p] & 15) << 2) ? K_CSOK : K_CSBAD);
      return;
    }
    case L_IPV6:
      if (IPV6_EXT[b[p + 6]] !== 0) break;
      o.lit(K_IP6); o.ipv6(b, p + 8); o.lit(K_DST); o.ipv6(b, p + 24);
      o.lit(K_HLIM); o.dec(b[p + 7]); o.lit(K_NEXT); o.dec(b[p + 6]); o.byte(125);
      return;
    case L_UDP:
      o.lit(K_UDP); o.dec((b[p] << 8) | b[p + 1]); o.lit(K_DPORT); o.dec((b[p + 2] << 8) | b[p + 3]);
      o.lit(K_CSUM); o.dec((b[p + 6] << 8) | b[p + 7]); o.byte(125);
      return;
    case L_TCP:
      o.lit(K_TCP); o.dec((b[p] << 8) | b[p + 1]); o.lit(K_DPORT); o.dec((b[p + 2] << 8) | b[p + 3]); o.byte(125);
      return;
    case L_ICMP:
    case L_ICMPV6:
      o.lit(st.kind[i] === L_ICMP ? K_ICMP : K_ICMP6); o.dec(b[p]); o.lit(K_CODE); o.dec(b[p + 1]); o.byte(125);
      return;
    case L_VXLAN:
      o.lit(K_VXLAN); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); o.lit(K_FLAGS); o.dec(b[p]); o.byte(125);
      return;
    case L_GENEVE: {
      o.lit(K_GENEVE); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]);
      o.lit(K_GPROTO); o.hex16((b[p + 2] << 8) | b[p + 3]);
      o.lit(K_OAM); o.lit(b[p + 1] & 0x80 ? K_TRUE : K_FALSE); o.lit(K_CRIT); o.lit(b[p + 1] & 0x40 ? K_TRUE : K_FALSE);
      const stop = p + 8 + ((b[p] & 0x3f) << 2);
      if (stop === p + 8) { o.lit(K_NOOPTS); return; }
      // The walker recorded this layer, so its options parsed: walk them again from the bytes
      // (the codec state holds the last GENEVE header of the frame, not necessarily this one).
      o.lit(K_OPTS);
      for (let q = p + 8; q < stop; q += 4 + ((b[q + 3] & 0x1f) << 2)) {
        if (q !== p + 8) o.byte(44);
        o.lit(K_OCLASS); o.hex16((b[q] << 8) | b[q + 1]); o.lit(K_OTYPE); o.dec(b[q + 2]); o.lit(K_OLEN); o.dec((b[q + 3] & 0x1f) << 2); o.byte(125);
      }
      o.lit(K_OEND);
      return;
    }
    case L_NVGRE:
      o.lit(K_NVGRE); o.dec((b[p + 4] << 16) | (b[p + 5] << 8) | b[p + 6]); o.lit(K_FLOW); o.dec(b[p + 7]); o.byte(125);
      return;
  }
  o.str(layerJson(b, st, i));
}

/** One frame as a JSON line (with its newline). */
export function emitFrameJson(
  o: ByteOut, b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number,
): void {
  o.lit(K_FRAME); o.dec(frame); o.lit(K_TS); o.dec(tsSec); o.byte(46); o.dec9(tsNsec);
  o.lit(K_CAPLEN); o.dec(caplen); o.lit(K_LEN); o.dec(len); o.lit(K_LAYERS);
  for (let i = 0; i < st.count; i++) {
    if (i) o.byte(44);
    layer(o, b, st, i);
  }
  const err = st.stop === 0 ? null : walkErrorMessage(st);
  if (err === null) { o.lit(K_END); return; }
  o.lit(K_ERR); o.str(JSON.stringify(err)); o.byte(125); o.byte(10);
}

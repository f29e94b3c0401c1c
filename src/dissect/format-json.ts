/**
 * Walker state + bytes -> one JSON object per frame (slow path: strings).
 *
 * {"frame":N,"ts":"SEC.NSEC","caplen":N,"len":N,"layers":[...],"error":"..."}
 *
 * Each layer re-decodes its header from the offset the walker recorded, so
 * the formatter shows exactly what the walker saw. Field choices beyond the
 * issue's list are documented in src/dissect/README.md.
 */
import { formatMacAt, hex16, HEX_BYTE } from '../packet/ethernet.js';
import { decodeEthernet } from '../packet/ethernet.js';
import { decodeVlan } from '../packet/vlan.js';
import { decodeArp } from '../packet/arp.js';
import { decodeIpv4, formatIpv4At, ipv4ChecksumOk } from '../packet/ipv4.js';
import { decodeIpv6, formatIpv6At } from '../packet/ipv6.js';
import { decodeUdp } from '../packet/udp.js';
import { decodeGre } from '../packet/gre.js';
import { decodeNvgre } from '../packet/nvgre.js';
import { decodeVxlan } from '../packet/vxlan.js';
import { decodeGeneve } from '../packet/geneve.js';
import { decodeTcp, decodeIcmp } from '../packet/l4.js';
import { decodeMpls, decodePwCw } from '../packet/mpls.js';
import {
  L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_GRE, L_NVGRE, L_VXLAN, L_GENEVE, L_MPLS, L_PWCW,
} from './layers.js';
import type { WalkState } from './walk.js';
import { walkErrorMessage } from './describe.js';

const FRAG = ['', 'first', 'later'];

/** JSON text (no newline) of layer `i` of the walk. */
export function layerJson(b: Uint8Array, st: WalkState, i: number): string {
  const o = st.offset[i];
  const e = st.end[i];
  switch (st.kind[i]) {
    case L_ETH: {
      const s = st.eth;
      decodeEthernet(b, o, e, s);
      const head = `{"proto":"eth","src":"${formatMacAt(b, o + 6)}","dst":"${formatMacAt(b, o)}"`;
      if (s.length8023 < 0) return `${head},"type":"${hex16(s.type)}"}`;
      const snap = s.type !== 0 ? `,"type":"${hex16(s.type)}"` : '';
      return `${head},"length":${s.length8023},"llc":{"dsap":"0x${HEX_BYTE[s.dsap]}","ssap":"0x${HEX_BYTE[s.ssap]}","control":${s.control}}${snap}}`;
    }
    case L_VLAN: {
      const s = st.vlan;
      decodeVlan(b, o, e, s);
      return `{"proto":"vlan","tpid":"${hex16((b[o - 2] << 8) | b[o - 1])}","vid":${s.vid},"pcp":${s.pcp},"dei":${s.dei}}`;
    }
    case L_ARP: {
      const s = st.arp;
      decodeArp(b, o, e, s);
      if (!s.ethIpv4) return `{"proto":"arp","op":${s.op},"htype":${s.htype},"ptype":"${hex16(s.ptype)}","hlen":${s.hlen},"plen":${s.plen}}`;
      return `{"proto":"arp","op":${s.op},"sha":"${formatMacAt(b, o + 8)}","spa":"${formatIpv4At(b, o + 14)}","tha":"${formatMacAt(b, o + 18)}","tpa":"${formatIpv4At(b, o + 24)}"}`;
    }
    case L_IPV4: {
      const s = st.ip4;
      decodeIpv4(b, o, e, s);
      const frag = s.mf !== 0 || s.fragOffset !== 0 ? `,"fragment":"${s.fragOffset !== 0 ? 'later' : 'first'}","fragOffset":${s.fragOffset * 8}` : '';
      return `{"proto":"ipv4","src":"${formatIpv4At(b, o + 12)}","dst":"${formatIpv4At(b, o + 16)}","ttl":${s.ttl},"protocol":${s.proto},"checksumOk":${ipv4ChecksumOk(b, o, s.headerLength)}${frag}}`;
    }
    case L_IPV6: {
      const s = st.ip6;
      decodeIpv6(b, o, e, s);
      const up = s.extCount !== 0 ? `,"upper":${s.upper}` : '';
      const frag = s.fragment !== 0 ? `,"fragment":"${FRAG[s.fragment]}","fragOffset":${s.fragOffset * 8}` : '';
      return `{"proto":"ipv6","src":"${formatIpv6At(b, o + 8)}","dst":"${formatIpv6At(b, o + 24)}","hlim":${s.hlim},"next":${s.next}${up}${frag}}`;
    }
    case L_UDP: {
      const s = st.udp;
      decodeUdp(b, o, e, s);
      return `{"proto":"udp","sport":${s.sport},"dport":${s.dport},"checksum":${s.checksum}}`;
    }
    case L_GRE: {
      const s = st.gre;
      decodeGre(b, o, e, s);
      return `{"proto":"gre","protocol":"${hex16(s.protocol)}","key":${s.keyPresent ? s.key : null},"seq":${s.seqPresent ? s.seq : null},"checksumPresent":${s.checksumPresent}}`;
    }
    case L_NVGRE: {
      const s = st.nvgre;
      decodeNvgre(b, o, e, s);
      return `{"proto":"nvgre","vsid":${s.vsid},"flowId":${s.flowId}}`;
    }
    case L_VXLAN: {
      const s = st.vxlan;
      decodeVxlan(b, o, e, s);
      return `{"proto":"vxlan","vni":${s.vni},"flags":${s.flags}}`;
    }
    case L_GENEVE: {
      const s = st.geneve;
      decodeGeneve(b, o, e, s);
      let opts = '';
      for (let j = 0; j < s.optCount; j++) {
        opts += `${j ? ',' : ''}{"class":"${hex16(s.optClass[j])}","type":${s.optType[j]},"length":${s.optDataLength[j]}}`;
      }
      return `{"proto":"geneve","vni":${s.vni},"protocol":"${hex16(s.protocol)}","oam":${s.oam === 1},"critical":${s.critical === 1},"options":[${opts}]}`;
    }
    case L_TCP: {
      const s = st.tcp;
      decodeTcp(b, o, e, s);
      return `{"proto":"tcp","sport":${s.sport},"dport":${s.dport}}`;
    }
    case L_ICMP:
    case L_ICMPV6: {
      const s = st.icmp;
      decodeIcmp(b, o, e, s);
      return `{"proto":"${st.kind[i] === L_ICMP ? 'icmp' : 'icmpv6'}","type":${s.type},"code":${s.code}}`;
    }
    case L_MPLS: {
      const s = st.mpls;
      decodeMpls(b, o, e, s);
      return `{"proto":"mpls","label":${s.label},"tc":${s.tc},"bottom":${s.bos === 1},"ttl":${s.ttl}}`;
    }
    case L_PWCW: {
      const s = st.pwcw;
      decodePwCw(b, o, e, s);
      return `{"proto":"pw-cw","flags":${s.flags},"frg":${s.frg},"length":${s.length},"seq":${s.seq}}`;
    }
    default:
      return `{"proto":"unknown"}`;
  }
}

/** `SECONDS.NANOSECONDS` with 9 digits. */
export function formatTs(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/** The whole frame record as one line of JSON (no newline). */
export function frameJson(
  b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number,
): string {
  let layers = '';
  for (let i = 0; i < st.count; i++) layers += (i ? ',' : '') + layerJson(b, st, i);
  const err = walkErrorMessage(st);
  const errPart = err === null ? '' : `,"error":${JSON.stringify(err)}`;
  return `{"frame":${frame},"ts":"${formatTs(tsSec, tsNsec)}","caplen":${caplen},"len":${len},"layers":[${layers}]${errPart}}`;
}

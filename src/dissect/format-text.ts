/**
 * Walker state + bytes -> one tcpdump-like line per frame (slow path):
 *   N SEC.NSEC layer, layer, ... [error: ...]
 * e.g. `1 1.000000000 00:00:5e:00:53:01 > 00:00:5e:00:53:02, IP 10.0.0.1 > 10.0.0.2 ttl 64,
 *       UDP 40000 > 4789, VXLAN vni 100, 02:... > 02:..., ARP who-has 10.1.0.2 tell 10.1.0.1`
 */
import { formatMacAt, hex16 } from '../packet/ethernet.js';
import { decodeEthernet } from '../packet/ethernet.js';
import { decodeVlan } from '../packet/vlan.js';
import { decodeArp } from '../packet/arp.js';
import { decodeIpv4, formatIpv4At } from '../packet/ipv4.js';
import { decodeIpv6, formatIpv6At } from '../packet/ipv6.js';
import { decodeUdp } from '../packet/udp.js';
import { decodeGre } from '../packet/gre.js';
import { decodeNvgre } from '../packet/nvgre.js';
import { decodeVxlan } from '../packet/vxlan.js';
import { decodeGeneve } from '../packet/geneve.js';
import { decodeTcp, decodeIcmp } from '../packet/l4.js';
import { decodeMpls, decodePwCw } from '../packet/mpls.js';
import {
  L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_GRE, L_NVGRE, L_VXLAN, L_GENEVE, L_MPLS, L_PWCW, S_UNKNOWN, S_FRAGMENT,
} from './layers.js';
import type { WalkState } from './walk.js';
import { walkErrorMessage } from './describe.js';
import { formatTs } from './format-json.js';

const TCP_FLAGS = 'FSRPAUEC';

export function layerText(b: Uint8Array, st: WalkState, i: number): string {
  const o = st.offset[i];
  const e = st.end[i];
  switch (st.kind[i]) {
    case L_ETH: {
      decodeEthernet(b, o, e, st.eth);
      const t = st.eth.length8023 >= 0 ? `802.3 length ${st.eth.length8023}` : `ethertype ${hex16(st.eth.type)}`;
      return `${formatMacAt(b, o + 6)} > ${formatMacAt(b, o)} ${t}`;
    }
    case L_VLAN:
      decodeVlan(b, o, e, st.vlan);
      return `vlan ${st.vlan.vid} p ${st.vlan.pcp}${st.vlan.dei ? ' dei' : ''} (${hex16((b[o - 2] << 8) | b[o - 1])})`;
    case L_ARP: {
      const s = st.arp;
      decodeArp(b, o, e, s);
      if (!s.ethIpv4) return `ARP op ${s.op} htype ${s.htype} ptype ${hex16(s.ptype)}`;
      if (s.op === 1) return `ARP who-has ${formatIpv4At(b, o + 24)} tell ${formatIpv4At(b, o + 14)}`;
      if (s.op === 2) return `ARP reply ${formatIpv4At(b, o + 14)} is-at ${formatMacAt(b, o + 8)}`;
      return `ARP op ${s.op} ${formatIpv4At(b, o + 14)} > ${formatIpv4At(b, o + 24)}`;
    }
    case L_IPV4: {
      const s = st.ip4;
      decodeIpv4(b, o, e, s);
      const frag = s.mf || s.fragOffset ? ` frag ${s.id}:${s.fragOffset * 8}${s.mf ? '+' : ''}` : '';
      return `IP ${formatIpv4At(b, o + 12)} > ${formatIpv4At(b, o + 16)} ttl ${s.ttl} proto ${s.proto} len ${s.totalLength}${frag}`;
    }
    case L_IPV6: {
      const s = st.ip6;
      decodeIpv6(b, o, e, s);
      const frag = s.fragment ? ` frag ${s.fragId}:${s.fragOffset * 8}${s.fragMore ? '+' : ''}` : '';
      return `IP6 ${formatIpv6At(b, o + 8)} > ${formatIpv6At(b, o + 24)} hlim ${s.hlim} next ${s.upper} plen ${s.payloadLength}${frag}`;
    }
    case L_UDP:
      decodeUdp(b, o, e, st.udp);
      return `UDP ${st.udp.sport} > ${st.udp.dport} len ${st.udp.length - 8}`;
    case L_TCP: {
      decodeTcp(b, o, e, st.tcp);
      let f = '';
      for (let j = 0; j < 8; j++) if (st.tcp.flags & (1 << j)) f += TCP_FLAGS[j];
      return `TCP ${st.tcp.sport} > ${st.tcp.dport} [${f || '.'}]`;
    }
    case L_ICMP:
      decodeIcmp(b, o, e, st.icmp);
      return `ICMP type ${st.icmp.type} code ${st.icmp.code}`;
    case L_GRE: {
      const s = st.gre;
      decodeGre(b, o, e, s);
      const k = s.keyPresent ? ` key 0x${s.key.toString(16)}` : '';
      const q = s.seqPresent ? ` seq ${s.seq}` : '';
      return `GRE proto ${hex16(s.protocol)}${s.checksumPresent ? ' csum' : ''}${k}${q}`;
    }
    case L_NVGRE:
      decodeNvgre(b, o, e, st.nvgre);
      return `NVGRE vsid ${st.nvgre.vsid} flowid ${st.nvgre.flowId}`;
    case L_VXLAN:
      decodeVxlan(b, o, e, st.vxlan);
      return `VXLAN vni ${st.vxlan.vni} flags 0x${st.vxlan.flags.toString(16)}`;
    case L_GENEVE: {
      const s = st.geneve;
      decodeGeneve(b, o, e, s);
      let t = `GENEVE vni ${s.vni} proto ${hex16(s.protocol)}${s.oam ? ' O' : ''}${s.critical ? ' C' : ''}`;
      if (s.optCount) {
        const opts: string[] = [];
        for (let j = 0; j < s.optCount; j++) opts.push(`class ${hex16(s.optClass[j])} type 0x${s.optType[j].toString(16)} len ${s.optDataLength[j]}`);
        t += ` options [${opts.join('; ')}]`;
      }
      return t;
    }
    case L_MPLS: {
      const s = st.mpls;
      decodeMpls(b, o, e, s);
      return `MPLS label ${s.label} tc ${s.tc}${s.bos ? ' [S]' : ''} ttl ${s.ttl}`;
    }
    case L_PWCW:
      decodePwCw(b, o, e, st.pwcw);
      return `PW control word seq ${st.pwcw.seq}${st.pwcw.flags ? ` flags 0x${st.pwcw.flags.toString(16)}` : ''}`;
    default:
      return `ICMP6 type ${(decodeIcmp(b, o, e, st.icmp), st.icmp.type)} code ${st.icmp.code}`;
  }
}

/** The frame as one text line (no newline). */
export function frameText(b: Uint8Array, st: WalkState, frame: number, tsSec: number, tsNsec: number, caplen: number, len: number): string {
  let s = `${frame} ${formatTs(tsSec, tsNsec)}`;
  for (let i = 0; i < st.count; i++) s += (i ? ', ' : ' ') + layerText(b, st, i);
  if (st.stop === S_UNKNOWN) s += `, data ${st.end[st.count - 1] - st.stopOffset > 0 ? st.end[st.count - 1] - st.stopOffset : 0} bytes`;
  if (st.stop === S_FRAGMENT) s += ', fragment data';
  const err = walkErrorMessage(st);
  if (err !== null) s += ` [error: ${err}]`;
  if (caplen !== len) s += ` (caplen ${caplen} of ${len})`;
  return s;
}

/** The layers of a walked frame as text, without frame number and time (`vtepd trace`). */
export function layersText(b: Uint8Array, st: WalkState): string {
  return frameText(b, st, 0, 0, 0, 0, 0).replace(/^0 \S+ /, '');
}

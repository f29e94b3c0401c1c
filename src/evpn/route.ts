/**
 * EVPN routes as vtepd sees them (RFC 7432 §7, RFC 8365 for the overlay
 * encapsulations), independent of the speaker's API:
 *
 *   type 2  MAC/IP Advertisement   RD, ESI, Ethernet tag, MAC, IP, label1 = VNI
 *   type 3  Inclusive Multicast    RD, Ethernet tag, originating router's IP
 *           Ethernet Tag (IMET)    + PMSI Tunnel attribute (ingress replication, label = VNI)
 *
 * Extended communities carried: route targets (which network imports the
 * route), the encapsulation community (RFC 9012 §4.1, RFC 8365 §5.1.3: tunnel
 * type VXLAN 8, NVGRE 9, GENEVE 19), and MAC Mobility (RFC 7432 §7.7: sequence
 * number and sticky flag) on type-2 routes that moved.
 * The BGP next hop of a route is the VTEP address (RFC 8365 §5.1.3).
 */
import { formatTyped, type TypedValue } from '../config/evpn-config.js';

/** IANA "BGP Tunnel Encapsulation Attribute Tunnel Types". */
export const TUNNEL_TYPE_CODE = { vxlan: 8, nvgre: 9, geneve: 19 } as const;
export type EncapName = keyof typeof TUNNEL_TYPE_CODE;
/** PMSI Tunnel type "Ingress Replication" (RFC 6514 §5), what EVPN over IP uses for type-3. */
export const PMSI_INGRESS_REPLICATION = 6;

export type RouteKind = 'mac-ip' | 'imet';

export interface EvpnRoute {
  kind: RouteKind;
  rd: TypedValue;
  ethTag: number;
  /** type 2: the MAC (lower case); type 3: ''. */
  mac: string;
  /** type 2: the IP bound to the MAC, '' when none; type 3: the originating router's IP. */
  ip: string;
  /** type 2: label1 (the VNI, RFC 8365 §5.1.3); type 3: the PMSI tunnel label (the VNI); -1 when absent. */
  label: number;
  nextHop: string;
  /** Route targets, text form ("65000:100"). */
  rts: string[];
  /** Tunnel type codes of the encapsulation communities (empty: none, which means MPLS per RFC 8365). */
  encaps: number[];
  /** MAC Mobility sequence number (0 when the community is absent). */
  seq: number;
  sticky: boolean;
  /** type 3: PMSI tunnel type, -1 when the attribute is absent. */
  pmsiType: number;
}

/** Identity of a route in the speaker's table (what a withdrawal names): type, RD, tag, MAC, IP. */
export function routeKey(r: Pick<EvpnRoute, 'kind' | 'rd' | 'ethTag' | 'mac' | 'ip'>): string {
  return r.kind === 'mac-ip'
    ? `2|${formatTyped(r.rd)}|${r.ethTag}|${r.mac}|${r.ip}`
    : `3|${formatTyped(r.rd)}|${r.ethTag}|${r.ip}`;
}

/** One line for logs and `vtepd evpn show`. */
export function describeRoute(r: EvpnRoute): string {
  const rd = formatTyped(r.rd);
  const what = r.kind === 'mac-ip' ? `type-2 [${rd}] ${r.mac}${r.ip ? ` ${r.ip}` : ''}` : `type-3 [${rd}] ${r.ip}`;
  const seq = r.seq > 0 || r.sticky ? ` seq ${r.seq}${r.sticky ? ' sticky' : ''}` : '';
  return `${what} label ${r.label} via ${r.nextHop} rt ${r.rts.join(',') || '-'} encap ${r.encaps.map(encapName).join(',') || 'none'}${seq}`;
}

export function encapName(code: number): string {
  for (const [k, v] of Object.entries(TUNNEL_TYPE_CODE)) if (v === code) return k;
  return `type${code}`;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** A MAC a route may carry for a host: well formed, unicast, not all-zero. */
export function usableMac(mac: string): boolean {
  if (!MAC_RE.test(mac)) return false;
  if ((parseInt(mac.slice(0, 2), 16) & 1) !== 0) return false;
  return mac !== '00:00:00:00:00:00';
}

/**
 * MAC mobility order (RFC 7432 §15.1): the higher sequence number wins; on a
 * tie the lower VTEP address. Returns > 0 when a beats b.
 */
export function mobilityOrder(aSeq: number, aIp: string, bSeq: number, bIp: string): number {
  if (aSeq !== bSeq) return aSeq > bSeq ? 1 : -1;
  if (aIp === bIp) return 0;
  return compareIp(aIp, bIp) < 0 ? 1 : -1;
}

/** Numeric order of two addresses of one family (text compare would put 10.0.0.9 after 10.0.0.10). */
export function compareIp(a: string, b: string): number {
  const ka = ipSortKey(a);
  const kb = ipSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function ipSortKey(ip: string): string {
  if (ip.includes('.') && !ip.includes(':')) return ip.split('.').map((x) => x.padStart(3, '0')).join('.');
  const [h, t] = ip.split('::');
  const head = h ? h.split(':') : [];
  const tail = t !== undefined && t ? t.split(':') : [];
  const groups = t === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

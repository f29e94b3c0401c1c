/**
 * Route codec: EvpnRoute ↔ GoBGP's API Path (apipb.Path: an NLRI and path
 * attributes, each a google.protobuf.Any of an apipb message). GoBGP turns
 * these into the BGP wire format (RFC 7432 §7.2/§7.3 NLRI, RFC 4360 extended
 * communities, RFC 6514 PMSI tunnel, RFC 4760 MP_REACH next hop).
 *
 * Decoding never throws: a path that is not a usable EVPN route comes back as
 * { ok: false, reason } with a reason from DECODE_ERRORS (a counter name), so a
 * malformed route from the network is counted and logged, never fatal.
 */
import { isIP } from 'node:net';
import { parseTyped, type TypedValue } from '../config/evpn-config.js';
import type { AnyMsg, GobgpProto } from './proto.js';
import { PMSI_INGRESS_REPLICATION, usableMac, type EvpnRoute } from './route.js';

export const FAMILY_EVPN = { afi: 'AFI_L2VPN', safi: 'SAFI_EVPN' } as const;
const AFI_L2VPN = 25;
const SAFI_EVPN = 70;
/** Origin IGP (RFC 4271 §5.1.1): the route comes from this VTEP's own configuration/learning. */
const ORIGIN_IGP = 0;

export const DECODE_ERRORS = [
  'undecodable', // an Any that does not decode (unknown type, bad bytes)
  'not-evpn', // address family other than L2VPN/EVPN
  'route-type', // an EVPN route type vtepd does not use (1, 4, 5, ...)
  'bad-rd',
  'bad-mac', // not a unicast, non-zero MAC
  'bad-ip', // type-2 IP or type-3 originator that is not an address
  'no-next-hop',
  'no-label',
] as const;
export type DecodeError = (typeof DECODE_ERRORS)[number];

/** apipb.Path as grpc-js hands it over (keepCase), the fields vtepd uses. */
export interface ApiPath {
  nlri?: AnyMsg | null;
  pattrs?: AnyMsg[];
  family?: { afi: string | number; safi: string | number } | null;
  is_withdraw?: boolean;
  neighbor_ip?: string;
  source_id?: string;
  uuid?: Uint8Array;
  best?: boolean;
  stale?: boolean;
}

export type Decoded =
  | { ok: true; route: EvpnRoute; withdraw: boolean; local: boolean; neighbor: string }
  | { ok: false; reason: DecodeError; detail: string; withdraw: boolean; neighbor: string };

function packRd(p: GobgpProto, rd: TypedValue): AnyMsg {
  if (rd.type === 1) return p.pack('RouteDistinguisherIPAddress', { admin: rd.admin, assigned: rd.assigned });
  return p.pack(rd.type === 0 ? 'RouteDistinguisherTwoOctetASN' : 'RouteDistinguisherFourOctetASN', { admin: rd.admin, assigned: rd.assigned });
}

function packRt(p: GobgpProto, rt: string): AnyMsg {
  const v = parseTyped(rt, 'rt');
  // Sub-type 0x02 = Route Target (RFC 4360 §4); transitive.
  if (v.type === 1) return p.pack('IPv4AddressSpecificExtended', { is_transitive: true, sub_type: 2, address: v.admin, local_admin: v.assigned });
  return p.pack(v.type === 0 ? 'TwoOctetAsSpecificExtended' : 'FourOctetAsSpecificExtended', { is_transitive: true, sub_type: 2, asn: v.admin, local_admin: v.assigned });
}

/** The NLRI Any of a route (what AddPath announces and DeletePath names). */
export function encodeNlri(p: GobgpProto, r: EvpnRoute): AnyMsg {
  const rd = packRd(p, r.rd);
  if (r.kind === 'mac-ip') {
    return p.pack('EVPNMACIPAdvertisementRoute', {
      rd, esi: { type: 0, value: new Uint8Array(9) }, ethernet_tag: r.ethTag, mac_address: r.mac, ip_address: r.ip, labels: [r.label],
    });
  }
  return p.pack('EVPNInclusiveMulticastEthernetTagRoute', { rd, ethernet_tag: r.ethTag, ip_address: r.ip });
}

/** A full apipb.Path for AddPath (or DeletePath when `withdraw`). */
export function encodePath(p: GobgpProto, r: EvpnRoute, withdraw = false): Record<string, unknown> {
  const nlri = encodeNlri(p, r);
  const comms: AnyMsg[] = r.rts.map((rt) => packRt(p, rt));
  for (const e of r.encaps) comms.push(p.pack('EncapExtended', { tunnel_type: e }));
  // RFC 7432 §7.7: no MAC Mobility community on the first advertisement (sequence 0) unless sticky.
  if (r.kind === 'mac-ip' && (r.seq > 0 || r.sticky)) comms.push(p.pack('MacMobilityExtended', { is_sticky: r.sticky, sequence_num: r.seq }));
  const pattrs: AnyMsg[] = [
    p.pack('OriginAttribute', { origin: ORIGIN_IGP }),
    p.pack('ExtendedCommunitiesAttribute', { communities: comms }),
  ];
  if (r.kind === 'imet') {
    const id = ipBytes(r.ip);
    pattrs.push(p.pack('PmsiTunnelAttribute', { flags: 0, type: PMSI_INGRESS_REPLICATION, label: r.label, id }));
  }
  pattrs.push(p.pack('MpReachNLRIAttribute', { family: { afi: AFI_L2VPN, safi: SAFI_EVPN }, next_hops: [r.nextHop], nlris: [nlri] }));
  return { family: FAMILY_EVPN, nlri, pattrs, is_withdraw: withdraw };
}

function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  const [h, t] = ip.split('::');
  const head = h ? h.split(':') : [];
  const tail = t ? t.split(':') : [];
  const g = t === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  const out = new Uint8Array(16);
  g.forEach((x, i) => { const v = parseInt(x, 16); out[2 * i] = v >> 8; out[2 * i + 1] = v & 255; });
  return out;
}

function rdOf(p: GobgpProto, a: unknown): TypedValue {
  const [name, v] = p.unpack(a as AnyMsg);
  const admin = v.admin as number | string;
  const assigned = v.assigned as number;
  const type = name === 'RouteDistinguisherIPAddress' ? 1 : name === 'RouteDistinguisherTwoOctetASN' ? 0 : name === 'RouteDistinguisherFourOctetASN' ? 2 : -1;
  if (type < 0) throw new RangeError(`RD of type ${name}`);
  return { type: type as 0 | 1 | 2, admin, assigned };
}

function familyIsEvpn(f: ApiPath['family']): boolean {
  if (!f) return false;
  return (f.afi === 'AFI_L2VPN' || f.afi === AFI_L2VPN) && (f.safi === 'SAFI_EVPN' || f.safi === SAFI_EVPN);
}

/** apipb.Path → EvpnRoute, or the reason it is not one. */
export function decodePath(p: GobgpProto, path: ApiPath): Decoded {
  const withdraw = path.is_withdraw === true;
  const neighbor = path.neighbor_ip ?? '';
  // Paths vtepd added itself carry a uuid (AddPath) and no neighbor.
  const local = (path.uuid !== undefined && path.uuid.length > 0) || neighbor === '' || neighbor === '<nil>';
  const fail = (reason: DecodeError, detail: string): Decoded => ({ ok: false, reason, detail, withdraw, neighbor });
  if (!familyIsEvpn(path.family)) return fail('not-evpn', `family ${JSON.stringify(path.family ?? null)}`);
  let name: string;
  let n: Record<string, unknown>;
  try { [name, n] = p.unpack(path.nlri as AnyMsg); } catch (e) { return fail('undecodable', `NLRI: ${(e as Error).message}`); }
  const r: EvpnRoute = { kind: 'mac-ip', rd: { type: 0, admin: 0, assigned: 0 }, ethTag: 0, mac: '', ip: '', label: -1, nextHop: '', rts: [], encaps: [], seq: 0, sticky: false, pmsiType: -1 };
  try { r.rd = rdOf(p, n.rd); } catch (e) { return fail('bad-rd', (e as Error).message); }
  r.ethTag = Number(n.ethernet_tag ?? 0);
  if (name === 'EVPNMACIPAdvertisementRoute') {
    r.mac = String(n.mac_address ?? '').toLowerCase();
    if (!usableMac(r.mac)) return fail('bad-mac', `MAC "${r.mac}"`);
    const ip = String(n.ip_address ?? '');
    r.ip = ip === '<nil>' || ip === '0.0.0.0' || ip === '::' ? '' : ip;
    if (r.ip !== '' && isIP(r.ip) === 0) return fail('bad-ip', `IP "${r.ip}"`);
    const labels = (n.labels as number[] | undefined) ?? [];
    r.label = labels.length > 0 ? labels[0] : -1;
  } else if (name === 'EVPNInclusiveMulticastEthernetTagRoute') {
    r.kind = 'imet';
    r.ip = String(n.ip_address ?? '');
    if (isIP(r.ip) === 0) return fail('bad-ip', `originating router IP "${r.ip}"`);
  } else {
    return fail('route-type', name.replace(/^EVPN/, ''));
  }
  if (withdraw) return { ok: true, route: r, withdraw, local, neighbor };
  try {
    for (const a of path.pattrs ?? []) attribute(p, a, r);
  } catch (e) {
    return fail('undecodable', `attribute: ${(e as Error).message}`);
  }
  if (r.nextHop === '' || isIP(r.nextHop) === 0) return fail('no-next-hop', `next hop "${r.nextHop}"`);
  if (r.label < 0 && r.kind === 'mac-ip') return fail('no-label', 'type-2 route without a label');
  return { ok: true, route: r, withdraw, local, neighbor };
}

function attribute(p: GobgpProto, a: AnyMsg, r: EvpnRoute): void {
  const [name, v] = p.unpack(a);
  switch (name) {
    case 'MpReachNLRIAttribute': {
      const nh = (v.next_hops as string[] | undefined) ?? [];
      if (nh.length > 0) r.nextHop = nh[0];
      break;
    }
    case 'NextHopAttribute':
      if (r.nextHop === '') r.nextHop = String(v.next_hop ?? '');
      break;
    case 'PmsiTunnelAttribute':
      r.pmsiType = Number(v.type ?? -1);
      if (r.kind === 'imet') r.label = Number(v.label ?? -1);
      break;
    case 'ExtendedCommunitiesAttribute':
      for (const c of (v.communities as AnyMsg[] | undefined) ?? []) community(p, c, r);
      break;
    default:
      break; // origin, AS path, local-pref, ...: not vtepd's business
  }
}

function community(p: GobgpProto, c: AnyMsg, r: EvpnRoute): void {
  let name: string;
  let v: Record<string, unknown>;
  try { [name, v] = p.unpack(c); } catch { return; } // an unknown community is not a reason to drop the route
  switch (name) {
    case 'TwoOctetAsSpecificExtended':
    case 'FourOctetAsSpecificExtended':
      if (Number(v.sub_type) === 2) r.rts.push(`${Number(v.asn)}:${Number(v.local_admin)}`);
      break;
    case 'IPv4AddressSpecificExtended':
      if (Number(v.sub_type) === 2) r.rts.push(`${String(v.address)}:${Number(v.local_admin)}`);
      break;
    case 'EncapExtended':
      r.encaps.push(Number(v.tunnel_type));
      break;
    case 'MacMobilityExtended':
      r.seq = Number(v.sequence_num ?? 0) >>> 0;
      r.sticky = v.is_sticky === true;
      break;
    default:
      break;
  }
}

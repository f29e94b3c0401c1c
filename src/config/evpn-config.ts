/**
 * The EVPN part of the daemon config (`control-plane: evpn`, `evpn:`, and
 * `rd`/`rt` per network), and the text forms of route distinguishers (RFC 4364
 * §4.2) and route targets (RFC 4360 §4), which both the config check and the
 * route codec (src/evpn/) use.
 *
 *   RD / RT   "ASN:N"      type 0: 2-octet ASN (0..65535), N 0..4294967295
 *             "IPv4:N"     type 1: IPv4 address, N 0..65535
 *             "ASN:N"      type 2: 4-octet ASN (> 65535), N 0..65535
 *
 * Auto-derivation follows FRR's (so a mixed FRR / vtepd fleet agrees without
 * configuration): RD = router-id:index (type 1), RT = (ASN & 0xffff):VNI (type 0,
 * RFC 8365 §5.1.2.1's 2-octet ASN form).
 */
import { isIPv4 } from 'node:net';

export const CONTROL_PLANES = ['static', 'evpn'] as const;
export type ControlPlane = (typeof CONTROL_PLANES)[number];
/** gobgp: vtepd drives GoBGP through its gRPC API (host/native plans). frr: FRR's zebra programs the kernel FDB (kernel plan). */
export const EVPN_SPEAKERS = ['gobgp', 'frr'] as const;
export type EvpnSpeaker = (typeof EVPN_SPEAKERS)[number];
/** Where Debian's golang-github-osrg-gobgp-dev puts GoBGP's API .proto files. */
export const DEFAULT_GOBGP_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';

export interface EvpnConfig {
  speaker: EvpnSpeaker;
  /** gRPC address of gobgpd (host:port). */
  api: string;
  /** For RD/RT derivation; default: what gobgpd reports (GetBgp). */
  asn?: number;
  routerId?: string;
  /** Seconds remote routes are kept after the speaker goes away (then flushed); 0 = flush at once. */
  holdTime: number;
  /** Directory of gobgp.proto / attribute.proto. */
  protoDir: string;
}

const rdText = { type: 'string', pattern: '^([0-9]{1,10}|[0-9]{1,3}(\\.[0-9]{1,3}){3}):[0-9]{1,10}$' } as const;

export const evpnSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    speaker: { enum: EVPN_SPEAKERS, default: 'gobgp' },
    api: { type: 'string', minLength: 3, default: '127.0.0.1:50051' },
    asn: { type: 'integer', minimum: 1, maximum: 4294967295 },
    routerId: { type: 'string', minLength: 7 },
    holdTime: { type: 'integer', minimum: 0, maximum: 86400, default: 180 },
    protoDir: { type: 'string', minLength: 1, default: DEFAULT_GOBGP_PROTO_DIR },
  },
} as const;

/** Added to each `networks[]` item. */
export const networkEvpnProperties = {
  rd: rdText,
  rt: { type: 'array', items: rdText, minItems: 1, maxItems: 16, uniqueItems: true },
} as const;

/** A route distinguisher or route target value: RFC 4364 type and its two fields. */
export interface TypedValue { type: 0 | 1 | 2; admin: number | string; assigned: number }

/** Parse "ASN:N" / "IPv4:N"; throws RangeError with the reason. */
export function parseTyped(text: string, what = 'value'): TypedValue {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new RangeError(`${what} "${text}" is not ASN:N or IPv4:N`);
  const a = text.slice(0, i);
  const nText = text.slice(i + 1);
  if (!/^[0-9]{1,10}$/.test(nText)) throw new RangeError(`${what} "${text}": the part after ':' must be a number`);
  const n = Number(nText);
  if (isIPv4(a)) {
    if (n > 0xffff) throw new RangeError(`${what} "${text}": with an IPv4 address the number must be <= 65535`);
    return { type: 1, admin: a, assigned: n };
  }
  if (!/^[0-9]{1,10}$/.test(a)) throw new RangeError(`${what} "${text}" is not ASN:N or IPv4:N`);
  const asn = Number(a);
  if (asn > 0xffffffff) throw new RangeError(`${what} "${text}": ASN must be <= 4294967295`);
  if (asn <= 0xffff) {
    if (n > 0xffffffff) throw new RangeError(`${what} "${text}": the number must be <= 4294967295`);
    return { type: 0, admin: asn, assigned: n };
  }
  if (n > 0xffff) throw new RangeError(`${what} "${text}": with a 4-octet ASN the number must be <= 65535`);
  return { type: 2, admin: asn, assigned: n };
}

export function formatTyped(v: TypedValue): string {
  return `${v.admin}:${v.assigned}`;
}

/** FRR-style auto RD: router-id:index (index 1.. per network, as FRR's rd-id). */
export function autoRd(routerId: string, index: number): string {
  return `${routerId}:${index}`;
}

/** FRR-style auto RT: (ASN & 0xffff):VNI. */
export function autoRt(asn: number, vni: number): string {
  return `${asn & 0xffff}:${vni}`;
}

/** Config-time problems of the EVPN settings (what JSON Schema cannot say). */
export function evpnProblems(cfg: {
  'control-plane': ControlPlane;
  evpn: EvpnConfig;
  underlay: { address: string };
  networks: { vni: number; type: string; rd?: string; rt?: string[] }[];
  offload: Record<string, string>;
}): string[] {
  const out: string[] = [];
  const evpn = cfg['control-plane'] === 'evpn';
  const kernel = cfg.offload['encap-decap'] === 'kernel';
  cfg.networks.forEach((n, i) => {
    if (!evpn && (n.rd !== undefined || n.rt !== undefined)) out.push(`networks[${i}]: rd/rt need control-plane: evpn`);
    if (n.rd !== undefined) {
      try { parseTyped(n.rd, 'rd'); } catch (e) { out.push(`networks[${i}].rd: ${(e as Error).message}`); }
    }
    (n.rt ?? []).forEach((r, j) => {
      try { parseTyped(r, 'rt'); } catch (e) { out.push(`networks[${i}].rt[${j}]: ${(e as Error).message}`); }
    });
  });
  if (!evpn) return out;
  const e = cfg.evpn;
  if (e.speaker === 'gobgp' && kernel) {
    out.push('evpn.speaker: gobgp drives vtepd\'s own data path; with the kernel data path (offload encap-decap: kernel) use speaker frr ' +
      '(FRR\'s zebra + bgpd with advertise-all-vni program the kernel FDB)');
  }
  if (e.speaker === 'frr' && !kernel) {
    out.push('evpn.speaker: frr programs the kernel\'s vxlan devices; it needs offload encap-decap: kernel and forwarding-learning: kernel (use gobgp for host/native)');
  }
  if (e.speaker === 'gobgp') {
    if (!/^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):[0-9]{1,5}$/.test(e.api)) out.push('evpn.api: must be HOST:PORT, e.g. 127.0.0.1:50051');
    if (e.routerId !== undefined && !isIPv4(e.routerId)) out.push('evpn.routerId: must be an IPv4 address');
  }
  if (e.speaker === 'frr') {
    cfg.networks.forEach((n, i) => {
      if (n.type !== 'vxlan') out.push(`networks[${i}].type: FRR's EVPN (advertise-all-vni) drives kernel VXLAN devices only`);
      if (n.rd !== undefined || n.rt !== undefined) out.push(`networks[${i}]: with speaker frr, RD and RT are FRR's (set them in bgpd's "vni" blocks)`);
    });
  }
  return out;
}

/**
 * Per-network EVPN settings resolved from the config and the speaker's
 * global settings: RD, the route targets exported and imported, the
 * encapsulation community, and the RT → network map used on import.
 */
import { isIPv4 } from 'node:net';
import type { VtepdConfig } from '../config/config-schema.js';
import { autoRd, autoRt, formatTyped, parseTyped, type TypedValue } from '../config/evpn-config.js';
import { TUNNEL_TYPE_CODE } from './route.js';

export interface NetSettings {
  vni: number;
  type: keyof typeof TUNNEL_TYPE_CODE;
  rd: TypedValue;
  rdText: string;
  /** Exported and imported route targets (one list, as FRR's default "route-target both"). */
  rts: string[];
  encap: number;
}

export interface EvpnSettings {
  asn: number;
  routerId: string;
  nets: NetSettings[];
  /** RT text → VNIs that import it. */
  importers: Map<string, number[]>;
}

/** Resolve every network's settings; throws with a clear message when something cannot be derived. */
export function resolveSettings(cfg: VtepdConfig, speaker: { asn: number; routerId: string }): EvpnSettings {
  const asn = cfg.evpn.asn ?? speaker.asn;
  const routerId = cfg.evpn.routerId ?? (isIPv4(speaker.routerId) && speaker.routerId !== '0.0.0.0' ? speaker.routerId : isIPv4(cfg.underlay.address) ? cfg.underlay.address : '');
  const nets: NetSettings[] = [];
  const importers = new Map<string, number[]>();
  const rds = new Map<string, number>();
  cfg.networks.forEach((n, i) => {
    if (n.rd === undefined && routerId === '') throw new Error(`networks[${i}]: no RD and no IPv4 router-id to derive one (set evpn.routerId or networks[${i}].rd)`);
    if (n.rt === undefined && !(asn > 0)) throw new Error(`networks[${i}]: no RT and no ASN to derive one (set evpn.asn or networks[${i}].rt)`);
    const rd = parseTyped(n.rd ?? autoRd(routerId, i + 1), 'rd');
    const rdText = formatTyped(rd);
    if (rds.has(rdText)) throw new Error(`networks[${i}].rd: ${rdText} is also the RD of VNI ${rds.get(rdText)}`);
    rds.set(rdText, n.vni);
    const rts = (n.rt ?? [autoRt(asn, n.vni)]).map((r) => formatTyped(parseTyped(r, 'rt')));
    for (const rt of rts) importers.set(rt, [...(importers.get(rt) ?? []), n.vni]);
    nets.push({ vni: n.vni, type: n.type, rd, rdText, rts, encap: TUNNEL_TYPE_CODE[n.type] });
  });
  return { asn, routerId, nets, importers };
}

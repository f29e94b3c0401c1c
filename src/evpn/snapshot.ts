/**
 * What `vtepd evpn show` and the metrics see: the session, the peers, per
 * network its RD/RT and remote VTEPs, the routes in and out, the counters.
 * Plain data (JSON over the control socket).
 */
import { formatTyped } from '../config/evpn-config.js';
import type { EvpnController } from './controller.js';
import type { EvpnCounter } from './counters.js';
import { describeRoute, encapName, type EvpnRoute } from './route.js';

export interface RouteJson {
  type: 2 | 3;
  rd: string;
  mac?: string;
  ip?: string;
  vni: number;
  nextHop: string;
  rt: string[];
  encap: string[];
  seq: number;
  sticky: boolean;
  text: string;
}

export interface EvpnSnapshot {
  speaker: { api: string; connected: boolean; connectedSeconds: number; asn: number | null; routerId: string | null; lastError: string | null };
  peers: { address: string; asn: number; state: string; routerId: string; received?: number; accepted?: number }[];
  networks: { vni: number; type: string; rd: string; rt: string[]; remotes: string[]; localMacs: number; remoteMacs: number }[];
  routesOut: RouteJson[] | null;
  routesIn: (RouteJson & { network: number; stale: boolean; installed: boolean; neighbor: string; acceptedAt: number })[] | null;
  counts: { routesOut: number; routesIn: number; staleRoutes: number; pendingUpdates: number };
  counters: Record<EvpnCounter, number>;
}

export function routeJson(r: EvpnRoute): RouteJson {
  return {
    type: r.kind === 'mac-ip' ? 2 : 3, rd: formatTyped(r.rd), ...(r.kind === 'mac-ip' ? { mac: r.mac } : {}), ...(r.ip ? { ip: r.ip } : {}),
    vni: r.label, nextHop: r.nextHop, rt: r.rts, encap: r.encaps.map(encapName), seq: r.seq, sticky: r.sticky, text: describeRoute(r),
  };
}

export function evpnSnapshot(c: EvpnController, routes: boolean): EvpnSnapshot {
  const s = c.settings;
  const inst = c.installer;
  const adv = c.advertiser;
  const out = [...adv.want.values()];
  const networks = (s?.nets ?? []).map((n) => {
    const remotes = [...inst.members.keys()].filter((k) => k.startsWith(`${n.vni}|`)).map((k) => k.slice(k.indexOf('|') + 1));
    return {
      vni: n.vni, type: n.type, rd: n.rdText, rt: n.rts, remotes,
      localMacs: out.filter((r) => r.kind === 'mac-ip' && r.label === n.vni).length,
      remoteMacs: inst.installedPerVni.get(n.vni) ?? 0,
    };
  });
  return {
    speaker: {
      api: c.cfgApi, connected: c.connected, connectedSeconds: c.connected ? (Date.now() - c.connectedSince) / 1000 : 0,
      asn: s?.asn ?? null, routerId: s?.routerId ?? null, lastError: c.lastError || null,
    },
    peers: [...c.peers.values()].map((p) => ({ address: p.address, asn: p.asn, state: p.state, routerId: p.routerId, received: p.received, accepted: p.accepted })),
    networks,
    routesOut: routes ? out.map(routeJson) : null,
    routesIn: routes ? [...inst.routes.values()].map((a) => ({
      ...routeJson(a.route), network: a.vni, stale: a.stale, neighbor: a.neighbor, acceptedAt: a.at,
      installed: a.route.kind === 'imet' || inst.installed.get(`${a.vni}|${a.route.mac}`)?.key === a.key,
    })) : null,
    counts: { routesOut: out.length, routesIn: inst.routes.size, staleRoutes: inst.staleCount, pendingUpdates: adv.pending },
    counters: { ...c.counters.values },
  };
}

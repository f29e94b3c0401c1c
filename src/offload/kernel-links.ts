/**
 * `ip -j [-s] [-d] link show` as a map by interface name: master, up, alias,
 * kind, driver data and counters, parsed once here for everyone who watches
 * kernel devices (KernelVtep, kernel mode's watch and stats).
 */
import { iprouteJson, type IprouteOptions } from './iproute.js';

export interface LinkCounters { packets: number; bytes: number; dropped: number }

export interface LinkState {
  ifname: string;
  master: string | null;
  /** Operationally up ('unknown' with the UP flag counts: TAP devices report it). */
  up: boolean;
  alias: string | null;
  /** linkinfo.info_kind (vxlan, bridge, tun, veth, ...) with `details`. */
  kind: string | null;
  /** linkinfo.info_data with `details`. */
  info: Record<string, unknown>;
  rx: LinkCounters;
  tx: LinkCounters;
}

interface LinkRow {
  ifname: string; master?: string; operstate?: string; flags?: string[]; ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> };
  stats64?: { rx: Record<string, number>; tx: Record<string, number> };
}

const counters = (s: Record<string, number> | undefined): LinkCounters => ({ packets: s?.packets ?? 0, bytes: s?.bytes ?? 0, dropped: s?.dropped ?? 0 });

export function parseLink(l: LinkRow): LinkState {
  return {
    ifname: l.ifname,
    master: l.master ?? null,
    up: l.operstate === 'UP' || (l.operstate === 'UNKNOWN' && (l.flags ?? []).includes('UP')),
    alias: l.ifalias ?? null,
    kind: l.linkinfo?.info_kind ?? null,
    info: l.linkinfo?.info_data ?? {},
    rx: counters(l.stats64?.rx),
    tx: counters(l.stats64?.tx),
  };
}

/** Every link of the namespace; `stats` adds counters, `details` the kind and driver data. */
export async function readLinks(o: IprouteOptions & { stats?: boolean; details?: boolean } = {}): Promise<Map<string, LinkState>> {
  const args = [...(o.stats ? ['-s'] : []), ...(o.details ? ['-d'] : []), 'link', 'show'];
  const rows = await iprouteJson<LinkRow>('ip', args, { netns: o.netns });
  return new Map(rows.map((r) => [r.ifname, parseLink(r)]));
}

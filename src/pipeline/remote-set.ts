/**
 * Remote VTEPs that join and leave a running data path (BGP EVPN: type-3 and
 * type-2 routes name them; the config's `remotes:` may be empty). Control
 * path only, between batches: a remote becomes a flood target, a valid decap
 * source and a unicast destination of its network; the network's encap stage
 * (TypeScript or C, as the plan says) is rebuilt from the new list, its
 * counters carried over. The fast path sees new arrays, never a half-made one.
 */
import { isIPv6 } from 'node:net';
import { parseAddrWords, type BridgeDomains } from '../l2/bridge-domain.js';
import type { MacTable } from '../l2/mac-table.js';
import { EncapStage } from '../tunnel/encap.js';
import { NativeEncapStage } from '../tunnel/native-encap.js';
import type { VtepdConfig } from '../config/config-schema.js';
import { encapConfig, type ResolveEnv } from './resolve.js';

/** What of a Dataplane this needs (dataplane.ts builds one RemoteSet per data path). */
export interface RemoteSetHost {
  readonly cfg: VtepdConfig;
  readonly domains: BridgeDomains;
  readonly table: MacTable;
  /** Per bridge domain: its encap stage (null while it has no remote). Entries are replaced here. */
  readonly encap: (EncapStage | null)[];
  domainOf(vni: number): number;
}

export class RemoteSet {
  /** "vni|ip" of the remotes added here (not from the config), carried to the next data path on a reload. */
  private readonly added = new Set<string>();

  constructor(private readonly dp: RemoteSetHost, private readonly env: ResolveEnv) {}

  /** Next-hop MAC per remote VTEP (shared with the backend, which keeps it resolved). */
  get remoteMacs(): Map<string, string> { return this.env.remoteMacs; }

  /**
   * Make `ip` a remote VTEP of network `vni`. Returns its global remote index;
   * no-op when it is a member already. Throws for the wrong address family or
   * this host's own address.
   */
  add(vni: number, ip: string): number {
    const dom = this.dp.domainOf(vni);
    const [w0, w1, w2, w3, v6] = parseAddrWords(ip);
    const local = this.dp.cfg.underlay.address;
    if (v6 !== isIPv6(local)) throw new Error(`remote ${ip} is not in the underlay's address family`);
    if (ip === local) throw new Error(`remote ${ip} is the local underlay address`);
    const d = this.dp.domains;
    const known = d.remoteIndex(w0, w1, w2, w3, v6);
    if (known >= 0 && d.remotePosition(dom, known) >= 0) return known;
    const r = d.addRemote(dom, w0, w1, w2, w3, v6);
    this.added.add(`${vni}|${ip}`);
    this.refreshEncap(dom);
    return r;
  }

  /** Take `ip` out of network `vni`; its FDB entries in that network go too. False when it was not a member. */
  remove(vni: number, ip: string): boolean {
    const dom = this.dp.domainOf(vni);
    const [w0, w1, w2, w3, v6] = parseAddrWords(ip);
    const r = this.dp.domains.remoteIndex(w0, w1, w2, w3, v6);
    if (r < 0 || !this.dp.domains.removeRemote(dom, r)) return false;
    this.added.delete(`${vni}|${ip}`);
    this.dp.table.flush({ domain: dom, remote: r, includeStatic: true });
    this.refreshEncap(dom);
    return true;
  }

  /**
   * Rebuild a network's encap stage from its current remote list (after a
   * change here, or a next-hop MAC that changed). With no remote left the old
   * stage stays: nothing is sent to it, the domain has no position left.
   */
  refreshEncap(dom: number): void {
    const d = this.dp.domains;
    const ips = [...d.remotes[dom]].map((r) => d.remoteIp(r));
    if (ips.length === 0) return;
    const cfg = this.dp.cfg;
    const ec = encapConfig(cfg, this.env, cfg.networks[dom], ips);
    const enc = cfg.offload['encap-decap'] === 'native' || cfg.offload['encap-decap'] === 'xdp' ? new NativeEncapStage(ec) : new EncapStage(ec);
    const old = this.dp.encap[dom];
    if (old !== null && old !== undefined) {
      const a = enc.counters;
      const b = old.counters;
      a.inFrames += b.inFrames;
      a.outFrames += b.outFrames;
      a.extra += b.extra;
      for (let c = 0; c < a.drops.length; c++) a.drops[c] += b.drops[c];
    }
    this.dp.encap[dom] = enc;
  }

  /**
   * A reload built a new data path: the remotes added at run time join it
   * too (before the MAC table is handed over, so the entries behind them are
   * carried and nothing floods into a gap). Networks that are gone are skipped.
   * Returns how many were carried.
   */
  carryFrom(old: RemoteSet): number {
    let n = 0;
    for (const k of old.added) {
      const i = k.indexOf('|');
      const vni = Number(k.slice(0, i));
      if (this.dp.domains.domainOfVni(vni) < 0) continue;
      try { this.add(vni, k.slice(i + 1)); n++; } catch { /* no longer fits the underlay */ }
    }
    return n;
  }

  /** Rebuild the encap of every network that has `ip` as a remote (its next-hop MAC changed). */
  refreshVtep(ip: string): void {
    const d = this.dp.domains;
    for (let dom = 0; dom < d.count; dom++) {
      const rs = d.remotes[dom];
      for (let k = 0; k < rs.length; k++) if (d.remoteIp(rs[k]) === ip) { this.refreshEncap(dom); break; }
    }
  }
}

/**
 * Remote side: routes from the speaker → the data plane.
 *
 *  - A route is accepted only when a network imports one of its route targets,
 *    carries that network's encapsulation (RFC 8365 §5.1.3) and VNI (label), and
 *    names a VTEP in the underlay's address family; anything else is counted
 *    under its reason and logged (with a power-of-two back-off), never applied.
 *  - Every accepted route makes its VTEP a remote of the network (type-3: the
 *    originating router; type-2: the next hop); the last route gone removes it.
 *  - Type-2: per (network, MAC) the best route by MAC mobility (higher sequence
 *    number, then lower VTEP address) becomes a static FDB entry toward its
 *    VTEP; a local advertisement with a higher sequence number (or sticky) wins
 *    over it, a lower one loses and is withdrawn (the advertiser sees the FDB
 *    change).
 *  - Staleness: when the speaker goes away routes are marked stale, kept for
 *    the hold time, and swept unless the resync after a reconnect confirms them.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { parseAddrWords } from '../l2/bridge-domain.js';
import { MacFlag, remotePlace } from '../l2/mac-table.js';
import { parseMacWords } from '../l2/mac-text.js';
import type { Dataplane } from '../pipeline/dataplane.js';
import type { Decoded } from './codec.js';
import type { EvpnCounter, EvpnCounters } from './counters.js';
import type { EvpnSettings } from './settings.js';
import { describeRoute, mobilityOrder, routeKey, type EvpnRoute } from './route.js';

export interface Accepted { route: EvpnRoute; key: string; vni: number; vtep: string; neighbor: string; stale: boolean; at: number }
interface Installed { vtep: string; seq: number; key: string }

export class Installer {
  readonly routes = new Map<string, Accepted>();
  /** "vni|mac" → route keys of the type-2 routes for it. */
  private readonly cands = new Map<string, Set<string>>();
  /** "vni|mac" → what is in the FDB. */
  readonly installed = new Map<string, Installed>();
  /** "vni|vtep" → routes naming that VTEP in that network. */
  readonly members = new Map<string, number>();
  /** Kept as they change, so `evpn show` and metrics need no pass over 100k routes. */
  staleCount = 0;
  readonly installedPerVni = new Map<number, number>();
  private readonly v6: boolean;

  constructor(private readonly o: {
    counters: EvpnCounters;
    log: Logger;
    dp: () => Dataplane;
    settings: () => EvpnSettings | null;
    underlay: string;
    /** This VTEP's own advertisement of a MAC: sequence number and sticky, or null. */
    localRoute: (vni: number, mac: string) => { seq: number; sticky: boolean } | null;
    /** A VTEP address seen for the first time (resolve its next-hop MAC). */
    newVtep: (ip: string) => void;
  }) {
    this.v6 = isIP(o.underlay) === 6;
  }

  private reject(reason: EvpnCounter, detail: string, r?: EvpnRoute): void {
    const c = this.o.counters;
    c.inc(reason);
    const n = c.get(reason);
    if ((n & (n - 1)) === 0) this.o.log.warn({ event: 'evpn-route-ignored', reason, count: n, route: r ? describeRoute(r) : undefined, detail }, `EVPN route ignored: ${reason}`);
  }

  /** One path from the speaker (already decoded). */
  handle(d: Decoded): void {
    this.o.counters.inc('paths-received');
    if (!d.ok) {
      if (d.withdraw) this.reject('withdraw-unknown', `${d.reason}: ${d.detail}`);
      else this.reject(d.reason, d.detail);
      return;
    }
    if (d.local) { this.o.counters.inc('own-routes'); return; }
    const key = routeKey(d.route);
    if (d.withdraw) {
      const have = this.routes.get(key);
      if (have === undefined) { this.reject('withdraw-unknown', key, d.route); return; }
      this.o.counters.inc('withdrawals');
      this.remove(have);
      return;
    }
    const vni = this.check(d.route);
    const have = this.routes.get(key);
    if (vni < 0) {
      // An update that is no longer acceptable replaces (withdraws) the accepted one.
      if (have !== undefined) this.remove(have);
      return;
    }
    const r = d.route;
    const vtep = r.kind === 'imet' ? r.ip : r.nextHop;
    if (have !== undefined) {
      if (have.vni === vni && have.vtep === vtep && sameRoute(have.route, r)) {
        if (have.stale) { have.stale = false; this.staleCount--; }
        return;
      }
      this.remove(have);
    }
    const a: Accepted = { route: r, key, vni, vtep, neighbor: d.neighbor, stale: false, at: Date.now() };
    if (!this.addMember(vni, vtep)) return;
    this.routes.set(key, a);
    this.o.counters.inc('routes-accepted');
    if (r.kind === 'mac-ip') {
      const mk = `${vni}|${r.mac}`;
      let s = this.cands.get(mk);
      if (s === undefined) this.cands.set(mk, (s = new Set()));
      s.add(key);
      this.decide(vni, r.mac);
    }
  }

  /** Which network takes the route, or -1 (counted). */
  private check(r: EvpnRoute): number {
    const s = this.o.settings();
    if (s === null) { this.reject('unknown-rt', 'no settings yet', r); return -1; }
    let vnis: number[] = [];
    for (const rt of r.rts) vnis = vnis.concat(s.importers.get(rt) ?? []);
    if (vnis.length === 0) { this.reject('unknown-rt', `route targets ${r.rts.join(',') || '(none)'}`, r); return -1; }
    if (r.label !== -1 && (r.label <= 0 || r.label > 0xffffff)) { this.reject('vni-out-of-range', `label ${r.label}`, r); return -1; }
    const vni = r.label === -1 ? vnis[0] : vnis.find((v) => v === r.label);
    if (vni === undefined) { this.reject('vni-mismatch', `label ${r.label}, importing VNIs ${vnis.join(',')}`, r); return -1; }
    const net = s.nets.find((n) => n.vni === vni)!;
    if (!r.encaps.includes(net.encap)) { this.reject('encap-mismatch', `network VNI ${vni} is ${net.type}`, r); return -1; }
    if (r.kind === 'imet' && r.pmsiType !== -1 && r.pmsiType !== 6) { this.reject('pmsi-type', `PMSI tunnel type ${r.pmsiType}`, r); return -1; }
    const vtep = r.kind === 'imet' ? r.ip : r.nextHop;
    if ((isIP(vtep) === 6) !== this.v6 || isIP(r.nextHop) === 0) { this.reject('next-hop-family', `VTEP ${vtep} with an IPv${this.v6 ? 6 : 4} underlay`, r); return -1; }
    if (vtep === this.o.underlay) { this.reject('own-next-hop', `VTEP ${vtep} is this host`, r); return -1; }
    return vni;
  }

  private addMember(vni: number, vtep: string): boolean {
    const mk = `${vni}|${vtep}`;
    const n = this.members.get(mk) ?? 0;
    if (n === 0) {
      try {
        this.o.dp().remotes.add(vni, vtep);
      } catch (e) {
        this.reject('install-failed', `remote ${vtep}: ${(e as Error).message}`);
        return false;
      }
      this.o.counters.inc('remote-added');
      this.o.log.info({ event: 'evpn-remote-added', vni, vtep }, 'remote VTEP joined the network');
      this.o.newVtep(vtep);
    }
    this.members.set(mk, n + 1);
    return true;
  }

  private dropMember(vni: number, vtep: string): void {
    const mk = `${vni}|${vtep}`;
    const n = (this.members.get(mk) ?? 0) - 1;
    if (n > 0) { this.members.set(mk, n); return; }
    this.members.delete(mk);
    try { this.o.dp().remotes.remove(vni, vtep); } catch { /* network gone (reload) */ }
    // Entries of that VTEP went with it.
    for (const [k, i] of this.installed) if (i.vtep === vtep && k.startsWith(`${vni}|`)) { this.installed.delete(k); this.countInstalled(vni, -1); }
    this.o.counters.inc('remote-removed');
    this.o.log.info({ event: 'evpn-remote-removed', vni, vtep }, 'remote VTEP left the network (its last route was withdrawn)');
  }

  private remove(a: Accepted): void {
    this.routes.delete(a.key);
    if (a.stale) this.staleCount--;
    if (a.route.kind === 'mac-ip') {
      const mk = `${a.vni}|${a.route.mac}`;
      const s = this.cands.get(mk);
      s?.delete(a.key);
      if (s?.size === 0) this.cands.delete(mk);
      this.decide(a.vni, a.route.mac);
    }
    this.dropMember(a.vni, a.vtep);
  }

  /** Highest sequence number among remote routes for a MAC, -1 when none. */
  remoteSeq(vni: number, mac: string): number {
    let best = -1;
    for (const k of this.cands.get(`${vni}|${mac}`) ?? []) best = Math.max(best, this.routes.get(k)!.route.seq);
    return best;
  }

  /** Put the best route for (vni, MAC) in the FDB, or take ours out. */
  decide(vni: number, mac: string): void {
    const mk = `${vni}|${mac}`;
    let best: Accepted | null = null;
    for (const k of this.cands.get(mk) ?? []) {
      const a = this.routes.get(k)!;
      if (best === null || mobilityOrder(a.route.seq, a.vtep, best.route.seq, best.vtep) > 0) best = a;
    }
    const local = this.o.localRoute(vni, mac);
    if (best !== null && local !== null && (local.sticky || mobilityOrder(local.seq, this.o.underlay, best.route.seq, best.vtep) > 0)) best = null;
    const have = this.installed.get(mk);
    if (best === null) {
      if (have !== undefined) this.uninstall(vni, mac, have);
      return;
    }
    if (have !== undefined && have.vtep === best.vtep && have.seq === best.route.seq) return;
    const dp = this.o.dp();
    const dom = dp.domains.domainOfVni(vni);
    if (dom < 0) return;
    const [w0, w1, w2, w3, v6] = parseAddrWords(best.vtep);
    const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
    const [hi, lo] = parseMacWords(mac);
    if (r < 0 || !dp.table.addStatic(dom, hi, lo, remotePlace(r), dp.bridge.now)) {
      this.reject('install-failed', `${mac} VNI ${vni}: FDB full or VTEP unknown`, best.route);
      return;
    }
    if (have !== undefined && have.vtep !== best.vtep) this.o.counters.inc('mac-moved');
    if (have === undefined) { this.o.counters.inc('mac-installed'); this.countInstalled(vni, 1); }
    this.installed.set(mk, { vtep: best.vtep, seq: best.route.seq, key: best.key });
  }

  private countInstalled(vni: number, d: number): void {
    this.installedPerVni.set(vni, (this.installedPerVni.get(vni) ?? 0) + d);
  }

  private uninstall(vni: number, mac: string, have: Installed): void {
    this.installed.delete(`${vni}|${mac}`);
    this.countInstalled(vni, -1);
    this.o.counters.inc('mac-removed');
    const dp = this.o.dp();
    const dom = dp.domains.domainOfVni(vni);
    if (dom < 0) return;
    const [hi, lo] = parseMacWords(mac);
    const [w0, w1, w2, w3, v6] = parseAddrWords(have.vtep);
    const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
    const place = dp.table.lookup(dom, hi, lo, dp.bridge.now);
    // Only our own entry: a local learn may have taken the MAC over meanwhile.
    if (r >= 0 && place >= 0 && (place & MacFlag.STATIC) !== 0 && (place & (MacFlag.REMOTE | 0xfffff)) === remotePlace(r)) dp.table.delete(dom, hi, lo);
  }

  /** The speaker went away: everything is stale until a resync confirms it. */
  markStale(): void {
    for (const a of this.routes.values()) if (!a.stale) { a.stale = true; this.staleCount++; }
  }

  /** Drop every route still stale (hold time over, or not in the resync snapshot). Returns how many. */
  sweepStale(): number {
    let n = 0;
    for (const a of [...this.routes.values()]) {
      if (!a.stale) continue;
      this.remove(a);
      n++;
    }
    if (n > 0) this.o.counters.inc('stale-flushed', n);
    return n;
  }

  /** A new data plane (reload): every member and installed MAC again. */
  reapply(): void {
    const dp = this.o.dp();
    for (const mk of this.members.keys()) {
      const i = mk.indexOf('|');
      try { dp.remotes.add(Number(mk.slice(0, i)), mk.slice(i + 1)); } catch { /* network gone */ }
    }
    const macs = [...this.installed.keys()];
    this.installed.clear();
    this.installedPerVni.clear();
    for (const mk of macs) {
      const i = mk.indexOf('|');
      this.decide(Number(mk.slice(0, i)), mk.slice(i + 1));
    }
  }
}

function sameRoute(a: EvpnRoute, b: EvpnRoute): boolean {
  return a.nextHop === b.nextHop && a.label === b.label && a.seq === b.seq && a.sticky === b.sticky &&
    a.rts.join() === b.rts.join() && a.encaps.join() === b.encaps.join() && a.pmsiType === b.pmsiType;
}

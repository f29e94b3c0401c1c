/**
 * EvpnController: vtepd's EVPN control plane over a GoBGP speaker.
 *
 *   data plane ──MAC events (journal)──▶ Advertiser ──AddPath/DeletePath──▶ gobgpd
 *   data plane ◀──FDB, remotes── Installer ◀──WatchEvent (best paths)── gobgpd
 *
 * Session: connect (GetBgp for ASN / router-id), start the watch (the first
 * table event is the whole RIB: routes it lacks are swept), send every local
 * route. When the speaker goes away the remote routes are kept, marked stale,
 * and flushed after evpn.holdTime unless a reconnect confirms them first; the
 * controller retries with a capped back-off. A reload hands it a new data
 * plane (`attach`): members, installed MACs and local routes are re-applied.
 *
 * Local MAC changes arrive as MacEvents (the table's MacJournal, drained by
 * the userspace backend every 200 ms and handed on by the daemon lifecycle):
 * `onMacEvents`. They are hints: the advertiser looks each MAC up again.
 */
import type { MacEventKind } from '../l2/mac-journal.js';
import type { Logger } from 'pino';
import type { VtepdConfig } from '../config/config-schema.js';
import { parseMacWords } from '../l2/mac-text.js';
import type { Dataplane } from '../pipeline/dataplane.js';
import { resolveNextHop } from '../ports/neighbour.js';
import { Advertiser } from './advertiser.js';
import { decodePath, encodePath, type ApiPath } from './codec.js';
import { EvpnCounters } from './counters.js';
import { GobgpClient, type PeerInfo } from './gobgp-client.js';
import { Installer } from './installer.js';
import { loadGobgpProto, type GobgpProto } from './proto.js';
import { resolveSettings, type EvpnSettings } from './settings.js';
import { evpnSnapshot, type EvpnSnapshot } from './snapshot.js';

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;
const POLL_MS = 200;
const NEIGHBOUR_REFRESH_MS = 15_000;
/** After a (re)connect: how long every BGP peer must have been established before stale routes are swept. */
const SETTLE_MS = 2000;

export class EvpnController {
  readonly counters = new EvpnCounters();
  readonly proto: GobgpProto;
  readonly advertiser: Advertiser;
  readonly installer: Installer;
  settings: EvpnSettings | null = null;
  connected = false;
  connectedSince = 0;
  lastError = '';
  peers = new Map<string, PeerInfo>();
  private client: GobgpClient | null = null;
  get cfgApi(): string { return this.cfg.evpn.api; }
  private dp: Dataplane;
  private cfg: VtepdConfig;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private neighTimer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  /** The data path the backend runs now (a reload replaces it; checked on the poll timer too). */
  private readonly current: () => Dataplane;
  private session = 0;

  constructor(o: { cfg: VtepdConfig; dp: () => Dataplane; log: Logger }, private readonly log = o.log) {
    this.cfg = o.cfg;
    this.current = o.dp;
    this.dp = o.dp();
    this.proto = loadGobgpProto(o.cfg.evpn.protoDir);
    const underlay = o.cfg.underlay.address;
    this.installer = new Installer({
      counters: this.counters, log: this.log, dp: () => this.dp, settings: () => this.settings, underlay,
      localRoute: (vni, mac) => this.localRoute(vni, mac),
      newVtep: (ip) => void this.resolveVtep(ip),
    });
    this.advertiser = new Advertiser({
      counters: this.counters, log: this.log, dp: () => this.dp, settings: () => this.settings, nextHop: underlay,
      remoteSeq: (vni, mac) => this.installer.remoteSeq(vni, mac),
    });
    this.bind(this.dp);
  }

  private localRoute(vni: number, mac: string): { seq: number; sticky: boolean } | null {
    const s = this.settings?.nets.find((n) => n.vni === vni);
    if (!s) return null;
    for (const r of this.advertiser.want.values()) if (r.kind === 'mac-ip' && r.mac === mac && r.label === vni) return { seq: r.seq, sticky: r.sticky };
    return null;
  }

  /** Hook the data plane: EVPN networks let remote statics yield to local learning (MAC mobility). */
  private bind(dp: Dataplane): void {
    for (let d = 0; d < dp.domains.count; d++) dp.table.remoteStaticYields[d] = 1;
  }

  /** Start the session (returns at once; connecting and retrying happen in the background). */
  start(): void {
    // A reload the lifecycle did not announce (the backend rebuilt its encap templates itself): re-attach.
    this.pollTimer = setInterval(() => { const dp = this.current(); if (dp !== this.dp) this.attach(dp, this.cfg); }, POLL_MS);
    this.neighTimer = setInterval(() => void this.refreshNeighbours(), NEIGHBOUR_REFRESH_MS);
    void this.connect();
  }

  /** A reload built a new data plane: re-apply remote and local state to it. */
  attach(dp: Dataplane, cfg: VtepdConfig): void {
    this.dp = dp;
    this.cfg = cfg;
    this.bind(dp);
    if (this.settings !== null) {
      try {
        this.settings = resolveSettings(cfg, { asn: this.settings.asn, routerId: this.settings.routerId });
      } catch (e) {
        this.log.error({ event: 'evpn-settings', err: (e as Error).message }, 'EVPN settings of the new config are invalid: keeping the old ones');
      }
    }
    this.installer.reapply();
    this.advertiser.setImets();
    this.advertiser.rescan();
    void this.advertiser.flush();
  }

  /** MAC events (learned, moved, aged, removed) → desired local routes → speaker. `lost` > 0: the journal overflowed. */
  onMacEvents(events: readonly { kind: MacEventKind; vni: number; mac: string }[], lost: number): void {
    const dp = this.current();
    if (dp !== this.dp) this.attach(dp, this.cfg);
    for (const e of events) {
      const dom = dp.domains.domainOfVni(e.vni);
      if (dom < 0) continue;
      const [hi, lo] = parseMacWords(e.mac);
      this.advertiser.touch(dom, hi, lo);
    }
    if (lost > 0) {
      this.counters.inc('event-overflows');
      this.advertiser.rescan();
    }
    void this.advertiser.flush();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const session = ++this.session;
    const client = new GobgpClient(this.cfg.evpn.api, this.proto);
    this.client = client;
    try {
      await client.waitReady(2000);
      const g = await client.getGlobal();
      if (!(g.asn > 0)) throw new Error('gobgpd has no global configuration yet (asn 0)');
      this.settings = resolveSettings(this.cfg, g);
      const peers = await client.listPeers().catch(() => []);
      this.peers = new Map(peers.map((p) => [p.address, p]));
    } catch (e) {
      this.fail(client, session, e as Error);
      return;
    }
    if (session !== this.session || this.stopped) { client.close(); return; }
    this.counters.inc('connects');
    this.installer.markStale();
    client.watch({
      paths: (paths, first) => this.onPaths(paths, first),
      peer: (p) => this.onPeer(p),
      end: (err) => this.fail(client, session, err ?? new Error('watch stream ended')),
    });
    this.advertiser.ops = {
      add: (r) => client.addPath(encodePath(this.proto, r)),
      del: (r, uuid) => client.deletePath(uuid && uuid.length > 0 ? { uuid } : { path: encodePath(this.proto, r, true) }),
    };
    this.advertiser.setImets();
    this.advertiser.resendAll();
    this.advertiser.rescan();
    void this.advertiser.flush();
  }

  private onPaths(paths: ApiPath[], first: boolean): void {
    for (const p of paths) this.installer.handle(decodePath(this.proto, p));
    if (first) {
      // The first table event is gobgpd's RIB as it is now. A gobgpd that just restarted has not heard
      // from its peers yet, so stale routes are swept only once every peer has been up for a while (settle).
      this.connected = true;
      this.connectedSince = Date.now();
      this.retryMs = RETRY_MIN_MS;
      this.log.info({ event: 'evpn-connected', api: this.cfg.evpn.api, asn: this.settings?.asn, routerId: this.settings?.routerId, routes: this.installer.routes.size }, 'EVPN speaker connected');
      this.settle(this.session, 0);
    }
  }

  /** Sweep stale routes once every BGP peer has been established for SETTLE_MS (or the hold time ran out first). */
  private settle(session: number, upSince: number): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      if (session !== this.session || !this.connected || this.client === null) return;
      void this.client.listPeers().then((ps) => {
        if (session !== this.session || !this.connected) return;
        this.peers = new Map(ps.map((p) => [p.address, p]));
        const allUp = ps.every((p) => p.state === 'established');
        const since = allUp ? upSince || Date.now() : 0;
        if (allUp && Date.now() - since >= SETTLE_MS) {
          if (this.holdTimer) { clearTimeout(this.holdTimer); this.holdTimer = null; }
          const n = this.installer.sweepStale();
          this.log.info({ event: 'evpn-synchronised', peers: ps.length, routes: this.installer.routes.size, staleFlushed: n }, 'EVPN routes synchronised with the speaker');
          return;
        }
        this.settle(session, since);
      }, () => this.settle(session, 0));
    }, upSince === 0 ? 200 : 500);
  }

  private onPeer(p: PeerInfo): void {
    const old = this.peers.get(p.address);
    this.peers.set(p.address, { ...old, ...p });
    if (old?.state !== p.state) this.log.info({ event: 'evpn-peer', peer: p.address, state: p.state }, `BGP peer ${p.address} ${p.state}`);
  }

  private fail(client: GobgpClient, session: number, err: Error): void {
    if (session !== this.session) return;
    client.close();
    if (this.client === client) this.client = null;
    this.advertiser.ops = null;
    const was = this.connected;
    this.connected = false;
    this.lastError = err.message;
    if (this.stopped) return;
    if (was) {
      this.counters.inc('disconnects');
      this.installer.markStale();
      this.log.warn({ event: 'evpn-disconnected', err: err.message, holdSeconds: this.cfg.evpn.holdTime, routes: this.installer.routes.size }, 'EVPN speaker went away: keeping its routes for the hold time');
      // The hold time runs from this outage, with the hold time configured now (an earlier outage's timer,
      // not yet cleared because the peers had not settled, would otherwise decide).
      if (this.holdTimer !== null) clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(() => {
        this.holdTimer = null;
        // Routes confirmed since a reconnect are no longer stale; the rest go.
        const n = this.installer.sweepStale();
        this.log.warn({ event: 'evpn-hold-expired', flushed: n }, 'EVPN hold time over: remote routes flushed');
      }, this.cfg.evpn.holdTime * 1000);
    } else if (this.retryMs === RETRY_MIN_MS) {
      this.log.warn({ event: 'evpn-connect-failed', api: this.cfg.evpn.api, err: err.message }, 'EVPN speaker not reachable: retrying');
    }
    this.retryTimer = setTimeout(() => { this.retryTimer = null; void this.connect(); }, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  /** Next-hop MAC of a VTEP on the AF_PACKET underlay (the encap templates need it). */
  private async resolveVtep(ip: string): Promise<void> {
    const u = this.cfg.underlay;
    if (u.transport !== 'afpacket') return;
    let mac = u.nextHopMac?.toLowerCase();
    if (mac === undefined) {
      try { mac = (await resolveNextHop(ip, { timeoutMs: 2000 })).mac; } catch (e) {
        this.log.warn({ event: 'evpn-next-hop', vtep: ip, err: (e as Error).message }, 'next hop of a remote VTEP not resolved yet: sending to broadcast until it is');
        return;
      }
    }
    const rs = this.dp.remotes;
    if (rs.remoteMacs.get(ip) === mac) return;
    rs.remoteMacs.set(ip, mac);
    rs.refreshVtep(ip);
  }

  private async refreshNeighbours(): Promise<void> {
    const ips = new Set([...this.installer.members.keys()].map((k) => k.slice(k.indexOf('|') + 1)));
    for (const ip of ips) await this.resolveVtep(ip);
  }

  /** Current peers from the speaker (for `vtepd evpn show`); cached ones when it does not answer. */
  async refreshPeers(): Promise<void> {
    const c = this.client;
    if (c === null || !this.connected) return;
    try {
      const ps = await c.listPeers();
      this.peers = new Map(ps.map((p) => [p.address, p]));
    } catch { /* keep the cached list */ }
  }

  snapshot(routes = true): EvpnSnapshot {
    return evpnSnapshot(this, routes);
  }

  /** Withdraw what we advertised (best effort, bounded) and close the session. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.retryTimer, this.holdTimer, this.settleTimer]) if (t) clearTimeout(t);
    for (const t of [this.pollTimer, this.neighTimer]) if (t) clearInterval(t);
    const c = this.client;
    if (c !== null && this.connected) {
      const sent = [...this.advertiser.sent.values()];
      await Promise.race([
        Promise.allSettled(sent.map((s) => c.deletePath(s.uuid && s.uuid.length > 0 ? { uuid: s.uuid } : { path: encodePath(this.proto, s.route, true) }))),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    }
    c?.close();
    this.client = null;
    this.connected = false;
  }
}

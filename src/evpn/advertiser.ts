/**
 * Local side: what this VTEP advertises. Desired state is derived from the
 * data plane, never from the events themselves: a MAC event (the table's journal, src/l2/mac-journal.ts)
 * only marks (network, MAC) dirty, and the drain looks the key up in the FDB
 * again: a live entry on a local port is advertised as a type-2 route, anything
 * else is withdrawn. One type-3 (IMET) route per network. An overflowed journal, a reconnect or a reload rescans the whole table. A worker sends the
 * differences to the speaker, a window of calls at a time.
 *
 * MAC mobility (RFC 7432 §15): a MAC that appears here while a remote route
 * for it exists is advertised with that route's sequence number + 1; a MAC
 * that moves here more than 5 times in 180 s is a duplicate (§15.1) and is no
 * longer advertised until that window has passed.
 */
import type { Logger } from 'pino';
import { MacFlag, OUT_MASK } from '../l2/mac-table.js';
import { formatMac } from '../l2/mac-text.js';
import type { Dataplane } from '../pipeline/dataplane.js';
import type { EvpnCounters } from './counters.js';
import type { EvpnSettings, NetSettings } from './settings.js';
import { routeKey, type EvpnRoute } from './route.js';

const WINDOW = 64;
const DUP_MOVES = 5;
const DUP_WINDOW_MS = 180_000;

export interface SpeakerOps {
  add(r: EvpnRoute): Promise<Uint8Array>;
  del(r: EvpnRoute, uuid: Uint8Array | null): Promise<void>;
}

interface Sent { route: EvpnRoute; uuid: Uint8Array | null }

export class Advertiser {
  /** Routes this VTEP wants advertised, by route key. */
  readonly want = new Map<string, EvpnRoute>();
  /** Routes the speaker has from us, by route key. */
  readonly sent = new Map<string, Sent>();
  private readonly dirty = new Set<string>();
  /** "vni|mac" → route key of the local type-2 route (for sequence numbers and moves). */
  private readonly macKey = new Map<string, string>();
  private readonly moves = new Map<string, number[]>();
  private readonly dupUntil = new Map<string, number>();
  private running = false;
  ops: SpeakerOps | null = null;

  constructor(private readonly o: {
    counters: EvpnCounters;
    log: Logger;
    dp: () => Dataplane;
    settings: () => EvpnSettings | null;
    nextHop: string;
    /** Highest sequence number of a remote route for this MAC, -1 when none. */
    remoteSeq: (vni: number, mac: string) => number;
  }) {}

  private net(vni: number): NetSettings | undefined {
    return this.o.settings()?.nets.find((n) => n.vni === vni);
  }

  /** The IMET route of every network (call when settings are known, and after a reload). */
  setImets(): void {
    const s = this.o.settings();
    if (!s) return;
    for (const [k, r] of this.want) if (r.kind === 'imet') { this.want.delete(k); this.dirty.add(k); }
    for (const n of s.nets) {
      const r: EvpnRoute = { kind: 'imet', rd: n.rd, ethTag: 0, mac: '', ip: this.o.nextHop, label: n.vni, nextHop: this.o.nextHop, rts: n.rts, encaps: [n.encap], seq: 0, sticky: false, pmsiType: 6 };
      const k = routeKey(r);
      this.want.set(k, r);
      this.dirty.add(k);
    }
  }

  /** A MAC event: look (domain, MAC) up again and fix the desired route. */
  touch(dom: number, hi: number, lo: number): void {
    const dp = this.o.dp();
    const vni = dp.domains.vni[dom];
    const n = this.net(vni);
    if (n === undefined) return;
    const mac = formatMac(hi, lo);
    const mk = `${vni}|${mac}`;
    const place = dp.table.lookup(dom, hi, lo, dp.bridge.now);
    const local = place >= 0 && (place & MacFlag.LOCAL) !== 0 && dp.portAt[place & OUT_MASK] !== undefined;
    const oldKey = this.macKey.get(mk);
    const old = oldKey === undefined ? undefined : this.want.get(oldKey);
    if (!local) {
      if (oldKey !== undefined) {
        this.want.delete(oldKey);
        this.macKey.delete(mk);
        this.dirty.add(oldKey);
      }
      return;
    }
    const remote = this.o.remoteSeq(vni, mac);
    let seq = old?.seq ?? 0;
    if (remote >= seq) {
      seq = remote + 1;
      if (!this.noteMove(mk)) {
        if (oldKey !== undefined) { this.want.delete(oldKey); this.macKey.delete(mk); this.dirty.add(oldKey); }
        return;
      }
      this.o.counters.inc('local-moves');
    }
    if (this.dupUntil.has(mk)) return;
    const sticky = (place & MacFlag.STATIC) !== 0;
    const r: EvpnRoute = { kind: 'mac-ip', rd: n.rd, ethTag: 0, mac, ip: '', label: n.vni, nextHop: this.o.nextHop, rts: n.rts, encaps: [n.encap], seq, sticky, pmsiType: -1 };
    const k = routeKey(r);
    if (old && k === oldKey && old.seq === seq && old.sticky === sticky && old.rts === n.rts && old.encaps[0] === n.encap) return;
    if (oldKey !== undefined && oldKey !== k) { this.want.delete(oldKey); this.dirty.add(oldKey); }
    this.want.set(k, r);
    this.macKey.set(mk, k);
    this.dirty.add(k);
  }

  /** Count a move here; false once the MAC is a duplicate (RFC 7432 §15.1). */
  private noteMove(mk: string): boolean {
    const now = Date.now();
    const until = this.dupUntil.get(mk);
    if (until !== undefined) {
      if (now < until) return false;
      this.dupUntil.delete(mk);
    }
    const t = (this.moves.get(mk) ?? []).filter((x) => now - x < DUP_WINDOW_MS);
    t.push(now);
    this.moves.set(mk, t);
    if (t.length > DUP_MOVES) {
      this.dupUntil.set(mk, now + DUP_WINDOW_MS);
      this.moves.delete(mk);
      this.o.counters.inc('duplicate-mac');
      this.o.log.warn({ event: 'evpn-duplicate-mac', mac: mk }, `MAC moved more than ${DUP_MOVES} times in ${DUP_WINDOW_MS / 1000} s: duplicate, no longer advertised for now`);
      return false;
    }
    return true;
  }

  /** Every local entry of the FDB again (ring overflow, reconnect, reload). */
  rescan(): void {
    const dp = this.o.dp();
    for (const mk of [...this.macKey.keys()]) {
      const [vni, mac] = mk.split('|');
      const dom = dp.domains.domainOfVni(Number(vni));
      if (dom < 0) { const k = this.macKey.get(mk)!; this.want.delete(k); this.macKey.delete(mk); this.dirty.add(k); continue; }
      const b = mac.split(':').map((x) => parseInt(x, 16));
      this.touch(dom, (b[0] << 8) | b[1], ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0);
    }
    for (const e of dp.table.dump()) if (!e.remote) this.touch(e.domain, e.macHi, e.macLo);
  }

  /** The speaker lost (or may have lost) everything we sent: send it all again. */
  resendAll(): void {
    this.sent.clear();
    for (const k of this.want.keys()) this.dirty.add(k);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Send the differences (one worker; returns when nothing is left or the speaker failed). */
  async flush(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.dirty.size > 0 && this.ops !== null) {
        const keys = [...this.dirty].slice(0, WINDOW);
        for (const k of keys) this.dirty.delete(k);
        const results = await Promise.allSettled(keys.map((k) => this.sync(k)));
        const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
        if (failed.length > 0) {
          this.o.counters.inc('advertise-failed', failed.length);
          this.o.log.warn({ event: 'evpn-advertise-failed', count: failed.length, err: String((failed[0].reason as Error)?.message ?? failed[0].reason) }, 'speaker refused or did not answer: retrying after the next connect');
          for (const k of keys) if (!this.inSync(k)) this.dirty.add(k);
          return;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private inSync(k: string): boolean {
    const w = this.want.get(k);
    const s = this.sent.get(k);
    return w === undefined ? s === undefined : s !== undefined && s.route === w;
  }

  private async sync(k: string): Promise<void> {
    const ops = this.ops;
    if (ops === null) { this.dirty.add(k); return; }
    const w = this.want.get(k);
    const s = this.sent.get(k);
    if (w === undefined) {
      if (s === undefined) return;
      await ops.del(s.route, s.uuid);
      this.sent.delete(k);
      this.o.counters.inc('withdrawn');
      return;
    }
    if (s !== undefined && s.route === w) return;
    // Same NLRI: AddPath replaces the path (implicit withdraw), attributes such as the sequence number change in place.
    const uuid = await ops.add(w);
    this.sent.set(k, { route: w, uuid });
    this.o.counters.inc('advertised');
  }
}

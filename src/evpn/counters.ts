/**
 * EVPN counters: one list, the source of both the names (`vtepd evpn show`,
 * Prometheus `vtepd_evpn_events_total{event=...}`) and the keys. Every route
 * that is not used says why here, besides a rate-limited log line.
 */
import { DECODE_ERRORS } from './codec.js';

export const EVPN_COUNTERS = [
  // speaker → vtepd
  'paths-received', // paths in WatchEvent table events (adds and withdrawals)
  'routes-accepted', // routes installed (type-2) or used for a flood list (type-3)
  'withdrawals', // withdrawals of accepted routes
  'withdraw-unknown', // withdrawal of a route never accepted (unknown, or ignored before)
  'own-routes', // this host's own paths coming back (ignored)
  'unknown-rt', // no network imports any of the route's targets
  'encap-mismatch', // no encapsulation community for the network's type (none means MPLS, RFC 8365 §5.1.3)
  'vni-mismatch', // label (VNI) is not the importing network's VNI
  'vni-out-of-range', // label 0 or above 16777215
  'next-hop-family', // next hop / originator not in the underlay's address family
  'own-next-hop', // a route of another speaker pointing at this host's own address
  'pmsi-type', // type-3 with a PMSI tunnel other than ingress replication
  ...DECODE_ERRORS, // malformed or unusable paths (codec.ts)
  'install-failed', // FDB full: a remote MAC could not be installed
  'mac-installed', // remote MACs put in the FDB
  'mac-removed', // remote MACs taken out (withdrawn, lost a move, flushed)
  'mac-moved', // a remote MAC now behind another VTEP (higher sequence number)
  'remote-added', // remote VTEPs that joined a network
  'remote-removed', // remote VTEPs that left (their last route withdrawn)
  // vtepd → speaker
  'advertised', // AddPath calls that succeeded
  'withdrawn', // DeletePath calls that succeeded
  'advertise-failed', // AddPath / DeletePath errors (retried after a reconnect)
  'local-moves', // local MACs advertised with a higher sequence number (moved here)
  'duplicate-mac', // a MAC that moved too often (RFC 7432 §15.1: 5 in 180 s): no longer advertised
  // session
  'connects', // watch streams started (1 + reconnects)
  'disconnects', // speaker went away
  'stale-flushed', // remote routes dropped when the hold time ran out or a resync lacked them
  'event-overflows', // MAC event ring overflowed: the FDB was rescanned
] as const;
export type EvpnCounter = (typeof EVPN_COUNTERS)[number];

export class EvpnCounters {
  readonly values: Record<EvpnCounter, number> = Object.fromEntries(EVPN_COUNTERS.map((n) => [n, 0])) as Record<EvpnCounter, number>;
  inc(name: EvpnCounter, by = 1): void {
    this.values[name] += by;
  }
  get(name: EvpnCounter): number {
    return this.values[name];
  }
}

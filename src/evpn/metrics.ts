/** Prometheus metrics of the EVPN control plane, read from one snapshot per scrape (registered beside the daemon's). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EvpnSnapshot } from './snapshot.js';

export function registerEvpnMetrics(reg: Registry, snap: () => EvpnSnapshot | null): void {
  reg.registerMetric(new Counter({
    name: 'vtepd_evpn_events_total', help: 'EVPN control plane events and ignored routes, by kind (see docs/evpn.md)', labelNames: ['event'], registers: [],
    collect(this: Counter<string>) { this.reset(); const s = snap(); if (s) for (const [k, v] of Object.entries(s.counters)) this.inc({ event: k }, v); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_evpn_speaker_up', help: '1 while the BGP speaker (gobgpd) is connected and its RIB synchronised', registers: [],
    collect(this: Gauge<string>) { this.set(snap()?.speaker.connected ? 1 : 0); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_evpn_routes', help: 'EVPN routes: advertised (out), received and accepted (in), stale (kept over a speaker outage)', labelNames: ['direction'], registers: [],
    collect(this: Gauge<string>) {
      this.reset();
      const s = snap();
      if (!s) return;
      this.set({ direction: 'out' }, s.counts.routesOut);
      this.set({ direction: 'in' }, s.counts.routesIn);
      this.set({ direction: 'stale' }, s.counts.staleRoutes);
    },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_evpn_remote_vteps', help: 'Remote VTEPs per network learned from EVPN routes', labelNames: ['vni'], registers: [],
    collect(this: Gauge<string>) { this.reset(); for (const n of snap()?.networks ?? []) this.set({ vni: String(n.vni) }, n.remotes.length); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_evpn_peer_established', help: '1 per BGP peer of the speaker that is established', labelNames: ['peer'], registers: [],
    collect(this: Gauge<string>) { this.reset(); for (const p of snap()?.peers ?? []) this.set({ peer: p.address }, p.state === 'established' ? 1 : 0); },
  }));
}

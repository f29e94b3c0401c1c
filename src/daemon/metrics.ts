/**
 * Prometheus metrics (prom-client), served by metrics-server.ts (127.0.0.1 by
 * default). Nothing is counted here: on each scrape the collectors copy the
 * data path's own integers from one snapshot, so the fast path pays nothing.
 * Also: prom-client's `process_*` / `nodejs_*` defaults (process_start_time_seconds
 * is the start time; there is no uptime gauge), `vtepd_build_info`, and the
 * cost meter's `vtepd_cost_*` (src/cost/metrics.ts).
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { NetworkStats, PortStats, StatsSnapshot } from '../control/stats.js';
import type { CostMeter } from '../cost/meter.js';
import { registerCostMetrics } from '../cost/metrics.js';
import { buildInfo } from './build-info.js';

export type SnapshotFn = () => StatsSnapshot;

export interface RegistryOptions {
  /** The data path's cost meter, looked up per scrape (a reload replaces it); null in kernel mode. */
  meter?: () => CostMeter | null;
  /** Data path mode for vtepd_build_info (userspace, kernel, ...). */
  mode?: string;
}

/** The `network` label: the network's name, or its VNI when it has none. */
const networkLabel = (n: Pick<NetworkStats, 'name' | 'vni'>): string => n.name ?? String(n.vni);

/** The networks a port serves ('' for the underlay; names joined by ',' for a trunk). */
function portNetwork(p: PortStats, nets: NetworkStats[]): string {
  if (p.role === 'underlay') return '';
  if (p.vni !== null) { const n = nets.find((x) => x.vni === p.vni); return n ? networkLabel(n) : String(p.vni); }
  return '';
}

/** Build a registry whose metrics read from `snap` at scrape time. */
export function createRegistry(snap: SnapshotFn, opts: RegistryOptions = {}): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg });
  let cur: StatsSnapshot | null = null;
  // One snapshot per scrape, shared by every collector (collect runs per metric).
  const get = (): StatsSnapshot => (cur ??= snap());
  const portLabels = ['port', 'interface', 'role'] as const;
  const netLabels = ['network', 'vni', 'type'] as const;
  const netValues = (n: NetworkStats): Record<string, string> => ({ network: networkLabel(n), vni: String(n.vni), type: n.type });

  const counter = (name: string, help: string, labelNames: readonly string[], fill: (c: Counter<string>, s: StatsSnapshot) => void): void => {
    reg.registerMetric(new Counter({
      name, help, labelNames, registers: [],
      collect(this: Counter<string>) { this.reset(); fill(this, get()); },
    }));
  };
  const portCounter = (name: string, help: string, key: 'rxPackets' | 'rxBytes' | 'txPackets' | 'txBytes' | 'drops' | 'kernelDrops'): void =>
    counter(name, help, portLabels, (c, s) => {
      for (const p of s.ports) c.inc({ port: p.name, interface: p.interface, role: p.role }, p[key]);
    });
  const netCounter = (name: string, help: string, key: 'flooded' | 'unicast' | 'learned' | 'moved' | 'aged' | 'dropped'): void =>
    counter(name, help, netLabels, (c, s) => {
      for (const n of s.networks) c.inc(netValues(n), n[key]);
    });

  portCounter('vtepd_port_rx_packets_total', 'Frames received on a port', 'rxPackets');
  portCounter('vtepd_port_rx_bytes_total', 'Bytes received on a port', 'rxBytes');
  portCounter('vtepd_port_tx_packets_total', 'Frames sent on a port', 'txPackets');
  portCounter('vtepd_port_tx_bytes_total', 'Bytes sent on a port', 'txBytes');
  portCounter('vtepd_port_drops_total', 'Frames a port refused (oversize, tx full)', 'drops');
  portCounter('vtepd_port_kernel_drops_total', 'Frames the kernel ring dropped before vtepd read them', 'kernelDrops');
  counter('vtepd_port_drops_by_reason_total', 'Frames a port dropped, by reason (kernel, socket, oversize, tx-ring-full, tx-error, xsk-rx-ring-full, xsk-fill-empty, ...)',
    [...portLabels, 'reason'], (c, s) => {
      for (const p of s.ports) for (const [reason, v] of Object.entries(p.dropReasons ?? {})) c.inc({ port: p.name, interface: p.interface, role: p.role, reason }, v);
    });
  counter('vtepd_port_tx_full_events_total', 'Transmit bursts that found the TX ring or socket buffer full and had to wait', portLabels, (c, s) => {
    for (const p of s.ports) if (p.txFullEvents !== undefined) c.inc({ port: p.name, interface: p.interface, role: p.role }, p.txFullEvents);
  });
  counter('vtepd_port_tx_syscalls_total', 'Transmit system calls (send/sendmmsg); with a TX ring about one per batch', portLabels, (c, s) => {
    for (const p of s.ports) if (p.txSyscalls !== undefined) c.inc({ port: p.name, interface: p.interface, role: p.role }, p.txSyscalls);
  });
  netCounter('vtepd_network_flooded_total', 'Frames flooded in a network (broadcast, multicast, unknown unicast)', 'flooded');
  netCounter('vtepd_network_unicast_total', 'Frames forwarded to a known destination', 'unicast');
  netCounter('vtepd_network_learned_total', 'MAC addresses learned', 'learned');
  netCounter('vtepd_network_moved_total', 'MAC moves detected', 'moved');
  netCounter('vtepd_network_aged_total', 'FDB entries aged out', 'aged');
  netCounter('vtepd_network_dropped_total', 'Frames dropped by the bridge in a network', 'dropped');
  counter('vtepd_stage_seconds_total',
    'Estimated wall time in each pipeline stage: the clock is read on 1 batch in 16 (the first batch always) and the sampled time is scaled to all frames',
    ['stage'], (c, s) => {
    for (const st of s.stages) c.inc({ stage: st.stage }, st.seconds);
  });
  counter('vtepd_stage_batches_total', 'Batches through each pipeline stage', ['stage'], (c, s) => {
    for (const st of s.stages) c.inc({ stage: st.stage }, st.batches);
  });
  counter('vtepd_stage_packets_total', 'Frames into each pipeline stage', ['stage'], (c, s) => {
    for (const st of s.stages) c.inc({ stage: st.stage }, st.packets);
  });
  counter('vtepd_drops_total', 'Frames dropped, by stage and reason', ['stage', 'reason'], (c, s) => {
    for (const [k, v] of Object.entries(s.drops)) {
      const slash = k.indexOf('/');
      c.inc({ stage: k.slice(0, slash), reason: k.slice(slash + 1) }, v);
    }
  });
  counter('vtepd_xdp_frames_total', 'offload xdp: frames by the programs\' verdict (decap/encap/bridge-redirect = the fast path, pass-* = up to the slow path, the rest dropped as hostile) and the FDB mirror\'s writes',
    ['verdict'], (c, s) => { for (const [k, v] of Object.entries(s.xdp ?? {})) c.inc({ verdict: k }, v); });
  counter('vtepd_host_stack_bypass_frames_total', 'AF_PACKET underlay: frames the tcx bypass program saw (dropped = tunnel frames vtepd had read, kept from the host stack; passed = the rest)',
    ['interface', 'verdict'], (c, s) => {
      const b = s.hostStackBypass;
      if (b) { c.inc({ interface: b.interface, verdict: 'dropped' }, b.dropped); c.inc({ interface: b.interface, verdict: 'passed' }, b.passed); }
    });
  reg.registerMetric(new Gauge({
    name: 'vtepd_host_stack_bypass_up', help: 'AF_PACKET underlay: 1 when the tcx bypass program is attached, 0 when it is off (vtepd stats says why)', labelNames: ['interface'], registers: [],
    collect(this: Gauge<string>) { this.reset(); const b = get().hostStackBypass; if (b) this.set({ interface: b.interface }, b.state === 'on' ? 1 : 0); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_fdb_entries', help: 'FDB entries per network', labelNames: netLabels, registers: [],
    collect(this: Gauge<string>) { this.reset(); for (const n of get().networks) this.set(netValues(n), n.fdbEntries); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_fdb_capacity', help: 'Maximum FDB entries (fdb.maxEntries; one table shared by every network, so no network label)', registers: [],
    collect(this: Gauge<string>) { this.reset(); const c = get().fdbCapacity; if (c !== undefined) this.set(c); },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_port_up', help: 'Link state of a port: 1 up, 0 down (network: the network it serves, empty for the underlay)',
    labelNames: [...portLabels, 'network'], registers: [],
    collect(this: Gauge<string>) {
      this.reset();
      const s = get();
      for (const p of s.ports) this.set({ port: p.name, interface: p.interface, role: p.role, network: portNetwork(p, s.networks) }, p.up ? 1 : 0);
    },
  }));
  reg.registerMetric(new Gauge({
    name: 'vtepd_offload_placement', help: 'Offload plan: 1 for the placement each function runs in', labelNames: ['function', 'placement'], registers: [],
    collect(this: Gauge<string>) { this.reset(); for (const [f, p] of Object.entries(get().offload)) this.set({ function: f, placement: p }, 1); },
  }));
  const bi = buildInfo();
  new Gauge({
    name: 'vtepd_build_info', help: 'Always 1; the labels say which vtepd runs', labelNames: ['version', 'node', 'mode'], registers: [reg],
  }).set({ version: bi.version, node: bi.node, mode: opts.mode ?? 'userspace' }, 1);
  // The data plane's meter does not read /proc/stat (process_* covers this process): no host series.
  if (opts.meter) registerCostMetrics(reg, opts.meter, { host: false });
  // Drop the cached snapshot after each scrape.
  const metrics = reg.metrics.bind(reg);
  reg.metrics = async () => { cur = null; try { return await metrics(); } finally { cur = null; } };
  return reg;
}

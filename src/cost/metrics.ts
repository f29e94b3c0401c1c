/**
 * Prometheus view of a CostMeter: on each scrape one snapshot is copied into
 * counters (reset + inc, the pattern of src/daemon/metrics.ts), so metering
 * costs the fast path nothing extra. Rates and ns per frame are left to PromQL,
 * e.g. rate(vtepd_cost_stage_seconds_total[1m]) / rate(vtepd_cost_stage_frames_total[1m]).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CostMeter, CostSnapshot } from './meter.js';
import { HOST_CPU_FIELDS } from './proc-stat.js';

/**
 * `meter` may be a getter: the daemon's data plane (and its meter) is replaced
 * on reload, and kernel mode has none (null: the metrics are present but empty).
 * A new meter starts from zero, which Prometheus reads as a counter reset.
 */
export function registerCostMetrics(reg: Registry, meter: CostMeter | (() => CostMeter | null), o: { host?: boolean } = {}): void {
  const cur = typeof meter === 'function' ? meter : () => meter;
  // A snapshot per collector: a few /proc reads per scrape, and no shared state to go stale.
  const get = (): CostSnapshot | null => cur()?.snapshot() ?? null;
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: CostSnapshot) => void): void => {
    reg.registerMetric(new Counter({
      name, help, labelNames, registers: [],
      collect(this: Counter<string>) { this.reset(); const s = get(); if (s) fill(this, s); },
    }));
  };
  counter('vtepd_cost_process_cpu_seconds_total', 'vtepd process CPU time', ['mode'], (c, s) => {
    c.inc({ mode: 'user' }, s.process.user);
    c.inc({ mode: 'system' }, s.process.system);
  });
  // Host-wide figures only from a meter that reads /proc/stat (the daemon's does not: host: false).
  if (o.host !== false) counter('vtepd_cost_host_cpu_seconds_total', 'Host CPU time from /proc/stat, all CPUs (softirq = kernel packet work)', ['mode'], (c, s) => {
    if (s.host) for (const f of HOST_CPU_FIELDS) c.inc({ mode: f }, s.host[f]);
  });
  counter('vtepd_cost_frames_total', 'Frames counted by the cost meter', ['counter'], (c, s) => {
    for (const [k, v] of Object.entries(s.counters)) c.inc({ counter: k }, v);
  });
  counter('vtepd_cost_stage_seconds_total', 'Estimated time in each stage (sampled batches scaled to all frames)', ['stage'], (c, s) => {
    for (const st of s.stages) c.inc({ stage: st.name }, st.ns / 1e9);
  });
  counter('vtepd_cost_stage_frames_total', 'Frames through each stage', ['stage'], (c, s) => {
    for (const st of s.stages) c.inc({ stage: st.name }, st.frames);
  });
  if (o.host === false) return;
  reg.registerMetric(new Gauge({
    name: 'vtepd_cost_host_cpus', help: 'CPUs counted in /proc/stat', registers: [],
    collect(this: Gauge<string>) { this.set(get()?.host?.cpus ?? 0); },
  }));
}

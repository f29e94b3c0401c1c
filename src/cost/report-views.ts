/**
 * The cost report as handed over: two views of the same runs.
 *
 *  - headline, `plans`: CPU attributed by process (the daemons, the traffic
 *    generator's system time, ksoftirqd): what the data path itself costs,
 *    the only view that separates host from native on a shared machine;
 *  - secondary, `hostWide.plans`: host-wide /proc/stat, everything the host did
 *    during the window, labelled as such (docs/cost-report.md says why it
 *    cannot rank host against native).
 *
 * Plus the summary sentences (which plan frees how much CPU at what traffic)
 * that the table, the HTML and the terminal print first.
 */
import { buildCostReport, WIRE_PLAN, type CostReport, type PlanFigures } from './report.js';
import type { PlanRun } from './plan-run.js';

export const REPORT_SCHEMA = 'vtepd-cost-report/2';

export const HEADLINE_LABEL = 'host CPU attributed by process (vtepd daemons, traffic generator system time, ksoftirqd): the headline';
export const HOST_WIDE_LABEL = 'host-wide CPU from /proc/stat (everything the host ran in the window, background included): secondary view, not fit to rank host against native';

export interface CostReportDoc extends Omit<CostReport, 'schema'> {
  schema: typeof REPORT_SCHEMA;
  view: 'by-process';
  label: string;
  /** Offered frames per second asked for (`--rate`); 'max' = as fast as the socket takes them. */
  offeredRate: number | 'max';
  summary: string[];
  hostWide: { view: 'host-wide'; label: string; plans: PlanFigures[] };
}

export interface CostViewsOptions {
  offeredRate?: number | 'max';
  now?: Date;
  baseline?: string;
  /** The host the runs were taken on, when rendering recorded runs elsewhere (default: this host). */
  host?: CostReport['host'];
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');

export function buildReportDoc(attributed: readonly PlanRun[], hostWide: readonly PlanRun[], o: CostViewsOptions = {}): CostReportDoc {
  const head = buildCostReport(attributed, { now: o.now, baseline: o.baseline });
  const wide = buildCostReport(hostWide, { now: new Date(head.generatedAt), baseline: head.baseline });
  const { schema: _s, ...rest } = head;
  return {
    schema: REPORT_SCHEMA,
    ...rest,
    ...(o.host ? { host: o.host } : {}),
    view: 'by-process',
    label: HEADLINE_LABEL,
    offeredRate: o.offeredRate ?? 'max',
    summary: summarize(head),
    hostWide: { view: 'host-wide', label: HOST_WIDE_LABEL, plans: wide.plans },
  };
}

/** One sentence per plan and frame size, against the baseline at the same size. */
export function summarize(r: Pick<CostReport, 'plans' | 'baseline'>): string[] {
  const out: string[] = [];
  for (const p of r.plans) {
    if (p.plan === r.baseline || p.plan === WIRE_PLAN) continue;
    const base = r.plans.find((b) => b.plan === r.baseline && b.frameSize === p.frameSize);
    const at = `At ${int(p.deliveredFps)} frames/s of ${p.frameSize} B frames`;
    if (!base || p.nsPerFrame.total === null || base.nsPerFrame.total === null || p.freedVsBaseline === null) {
      out.push(`${at}, the ${p.plan} plan cannot be compared with the ${r.baseline} plan (${!base ? `no ${r.baseline} run at this size` : 'nothing delivered'}).`);
      continue;
    }
    const share = Math.abs(p.freedVsBaseline * 100).toFixed(0);
    const cores = Math.abs(base.cores.total - p.cores.total).toFixed(2);
    const base_ = `the ${r.baseline} plan`;
    const what = p.freedVsBaseline > 0 ? `frees ${share}% of the host CPU per frame that ${base_} takes`
      : p.freedVsBaseline < 0 ? `costs ${share}% more host CPU per frame than ${base_}` : `costs the same host CPU per frame as ${base_}`;
    const tail = p.freedVsBaseline === 0 ? '' : ` (${cores} cores ${p.freedVsBaseline > 0 ? 'freed' : 'more'} at this rate)`;
    const loss = p.loss > 0.001 || base.loss > 0.001 ? `; loss ${(p.loss * 100).toFixed(1)}% vs ${(base.loss * 100).toFixed(1)}%` : '';
    out.push(`${at}, the ${p.plan} plan ${what}: ${int(p.nsPerFrame.total)} ns against ${int(base.nsPerFrame.total)} ns${tail}${loss}.`);
  }
  out.push(...netSentences(r.plans));
  if (out.length === 0) out.push(`Only the ${r.baseline} plan was run: nothing to compare.`);
  return out;
}

/** Per frame size with a wire run: what each plan's overlay costs once the traffic's own send and receive are taken off. */
function netSentences(plans: readonly PlanFigures[]): string[] {
  const out: string[] = [];
  for (const wire of plans.filter((p) => p.plan === WIRE_PLAN && p.nsPerFrame.total !== null)) {
    const rows = plans.filter((p) => p.frameSize === wire.frameSize && p.netNsPerFrame !== null);
    if (rows.length === 0) continue;
    const kernel = rows.find((p) => p.plan === 'kernel');
    const vsKernel = (p: PlanFigures) => (kernel && p !== kernel && kernel.netNsPerFrame! > 0 ? ` (${(p.netNsPerFrame! / kernel.netNsPerFrame!).toFixed(2)}x the kernel's)` : '');
    out.push(`Net of the traffic's own cost at ${wire.frameSize} B (the wire plan, generator and sink with no VTEP between them: ${int(wire.nsPerFrame.total!)} ns per frame), ` +
      `the overlay itself costs ${rows.map((p) => `${p.plan} ${int(p.netNsPerFrame!)} ns${vsKernel(p)}`).join(', ')} per frame.`);
  }
  return out;
}

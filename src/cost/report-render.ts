/**
 * Renderings of a CostReport: JSON (the record), a terminal table (to read),
 * an SVG chart (to show): stacked host CPU ns per delivered frame per plan,
 * split user/system/softirq, annotated with the share freed vs the baseline
 * and with the runs' load warnings. report-html.ts puts them in one page.
 */
import { WIRE_PLAN, type CostReport, type PlanFigures } from './report.js';
import type { CostReportDoc } from './report-views.js';
import { svgBarChart } from './svg-chart.js';

export function reportJson(r: CostReport | CostReportDoc): string {
  return JSON.stringify(r, null, 2) + '\n';
}

export const num = (v: number | null, digits = 0) => (v === null ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
export const pct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);
/** The freed column: the wire row is the traffic alone, not a plan that could free anything. */
export const freedCell = (p: PlanFigures): string => (p.plan === WIRE_PLAN ? '-' : pct(p.freedVsBaseline));

export const TABLE_COLUMNS = ['plan', 'frame B', 'offered f/s', 'delivered f/s', 'loss', 'user', 'system', 'softirq', 'cores', 'ns/frame', 'cores/10G', 'freed', 'load'] as const;

/** Footnote numbers of each plan's warnings, counted over the whole table: [[1], [], [2, 3]]. */
function warningRefs(r: CostReport): number[][] {
  let k = 0;
  return r.plans.map((p) => p.warnings.map(() => ++k));
}

function row(p: PlanFigures, refs: number[]): string[] {
  return [
    p.plan,
    String(p.frameSize),
    num(p.offeredFps),
    num(p.deliveredFps),
    pct(p.loss).replace('+', ''),
    num(p.cores.user, 2),
    num(p.cores.system, 2),
    num(p.cores.softirq, 2),
    num(p.cores.total, 2),
    num(p.nsPerFrame.total),
    num(p.coresPer10G, 2),
    freedCell(p),
    refs.length === 0 ? 'ok' : `! [${refs.join(',')}]`,
  ];
}

/** Fixed-width table; user/system/softirq/cores are in cores (CPU seconds per second). */
export function reportTable(r: CostReport, o: { stages?: boolean } = {}): string {
  const refs = warningRefs(r);
  const rows = [[...TABLE_COLUMNS], ...r.plans.map((p, i) => row(p, refs[i]))];
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...rows.map((x) => x[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('');
  out.push(`user/system/softirq/cores: host CPU in cores; ns/frame: host CPU per delivered frame; freed: vs ${r.baseline} at the same frame size; load: warnings below`);
  r.plans.forEach((p, i) => p.warnings.forEach((w, j) => out.push(`! [${refs[i][j]}] ${p.plan} @${p.frameSize} B: ${w}`)));
  if (o.stages !== false) out.push(...stageTable(r));
  out.push(`host: ${r.host.cpus} x ${r.host.cpuModel}, kernel ${r.host.kernel}, node ${r.host.node}`);
  return out.join('\n') + '\n';
}

/**
 * The daemons' stage timers per delivered frame (plans with a vtepd data path
 * only): the part of the user CPU each stage takes, so host vs native shows
 * the language's share stage by stage. Empty when no run has stage figures.
 */
function stageTable(r: CostReport): string[] {
  const runs = r.plans.filter((p) => p.stages.length > 0);
  if (runs.length === 0) return [];
  const names = [...new Set(runs.flatMap((p) => p.stages.map((s) => s.name)))];
  const head = ['plan', 'frame B', ...names, 'sum', 'rx frames/batch'];
  const rows = runs.map((p) => {
    const v = names.map((n) => p.stages.find((s) => s.name === n)?.nsPerFrame ?? null);
    const sum = v.every((x) => x === null) ? null : v.reduce<number>((a, x) => a + (x ?? 0), 0);
    return [p.plan, String(p.frameSize), ...v.map((x) => num(x)), num(sum), num(p.stages.find((s) => s.name === 'rx')?.framesPerBatch ?? null, 1)];
  });
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((x) => x[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  return ['', 'vtepd stage time, ns per delivered frame (the daemons\' own per-batch timers, both hypervisors summed; rx/tx include their syscalls)',
    line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** `200,000 frames/s offered` (or `max rate`), from the doc's --rate or the runs' offered rates. */
function rateText(r: CostReport | CostReportDoc): string {
  const asked = 'offeredRate' in r ? r.offeredRate : undefined;
  if (asked === 'max') return 'offered at max rate';
  if (typeof asked === 'number') return `${num(asked)} frames/s offered`;
  const fps = r.plans.map((p) => p.offeredFps);
  return `~${num(Math.max(0, ...fps))} frames/s offered`;
}

export function reportSvg(r: CostReport | CostReportDoc): string {
  const warned = r.plans.some((p) => p.warnings.length > 0);
  const view = 'view' in r ? 'CPU attributed by process' : 'host-wide CPU';
  return svgBarChart({
    title: 'Host CPU per delivered frame, by offload plan (lower is better)',
    subtitle: `${r.generatedAt.slice(0, 10)} · host ${r.host.hostname ?? '?'} (${r.host.cpus} CPUs) · ${rateText(r)} · ${view}`,
    unit: 'host CPU ns per frame',
    categories: r.plans.map((p) => `${p.plan}\n${p.frameSize} B`),
    stacked: true,
    series: [
      { name: 'user', values: r.plans.map((p) => p.nsPerFrame.user), color: '#4e79a7' },
      { name: 'system', values: r.plans.map((p) => p.nsPerFrame.system), color: '#f28e2b' },
      { name: 'softirq', values: r.plans.map((p) => p.nsPerFrame.softirq), color: '#e15759' },
    ],
    annotations: r.plans.map((p) => (p.plan === r.baseline ? 'baseline' : p.plan === WIRE_PLAN ? 'traffic only' : `freed ${pct(p.freedVsBaseline)}`)),
    warnings: r.plans.map((p) => (p.warnings.length > 0 ? '! load' : null)),
    ...(warned ? { footnote: '! load: background load or a busy host during the run; the figures may be high (warnings in the table)' } : {}),
  });
}

/** The terminal form of the whole document: summary, headline table with stages, secondary view. */
export function reportDocText(d: CostReportDoc): string {
  const head: CostReport = { ...d, schema: 'vtepd-cost-report/1' };
  const wide: CostReport = { ...head, plans: d.hostWide.plans };
  return [
    'Summary:', ...d.summary.map((s) => `  ${s}`), '',
    `Headline — ${d.label}:`, reportTable(head),
    `Secondary — ${d.hostWide.label}:`, reportTable(wide, { stages: false }),
  ].join('\n');
}

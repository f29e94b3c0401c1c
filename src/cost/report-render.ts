/**
 * Renderings of a CostReport: JSON (the record), a terminal table (to read),
 * an SVG chart (to show): stacked host CPU ns per delivered frame per plan,
 * split user/system/softirq, annotated with the share freed vs the baseline.
 */
import type { CostReport, PlanFigures } from './report.js';
import { svgBarChart } from './svg-chart.js';

export function reportJson(r: CostReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

const num = (v: number | null, digits = 0) => (v === null ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const pct = (v: number | null) => (v === null ? 'n/a' : `${v > 0 ? '+' : ''}${(v * 100).toFixed(1)}%`);

export const TABLE_COLUMNS = ['plan', 'frame B', 'offered f/s', 'delivered f/s', 'loss', 'user', 'system', 'softirq', 'cores', 'ns/frame', 'cores/10G', 'freed'] as const;

function row(p: PlanFigures): string[] {
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
    pct(p.freedVsBaseline),
  ];
}

/** Fixed-width table; user/system/softirq/cores are in cores (CPU seconds per second). */
export function reportTable(r: CostReport): string {
  const rows = [[...TABLE_COLUMNS], ...r.plans.map(row)];
  const widths = TABLE_COLUMNS.map((_, c) => Math.max(...rows.map((x) => x[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('');
  out.push(`user/system/softirq/cores: host CPU in cores; ns/frame: host CPU per delivered frame; freed: vs ${r.baseline} at the same frame size`);
  out.push(...stageTable(r));
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

export function reportSvg(r: CostReport): string {
  const cats = r.plans.map((p) => `${p.plan} @${p.frameSize} B`);
  return svgBarChart({
    title: 'Host CPU per delivered frame, by offload plan',
    unit: 'host CPU ns per frame',
    categories: cats,
    stacked: true,
    series: [
      { name: 'user', values: r.plans.map((p) => p.nsPerFrame.user), color: '#4e79a7' },
      { name: 'system', values: r.plans.map((p) => p.nsPerFrame.system), color: '#f28e2b' },
      { name: 'softirq', values: r.plans.map((p) => p.nsPerFrame.softirq), color: '#e15759' },
    ],
    annotations: r.plans.map((p) => (p.plan === r.baseline ? 'baseline' : `freed ${pct(p.freedVsBaseline)}`)),
  });
}

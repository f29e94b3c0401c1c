/**
 * The cost report as one self-contained HTML file, something to hand to a
 * manager: summary (which plan frees how much CPU at what traffic), the chart
 * (inline SVG), the tables (headline by-process view with the stage timers,
 * the host-wide view labelled as secondary), warnings, notes and the method.
 * No scripts, no external styles, fonts, images or links: it opens offline.
 */
import type { PlanFigures } from './report.js';
import type { CostReportDoc } from './report-views.js';
import { TABLE_COLUMNS, freedCell, num, reportSvg } from './report-render.js';
import { escapeXml as esc } from './svg-chart.js';


function cells(p: PlanFigures): string[] {
  return [p.plan, String(p.frameSize), num(p.offeredFps), num(p.deliveredFps), `${(p.loss * 100).toFixed(1)}%`,
    num(p.cores.user, 2), num(p.cores.system, 2), num(p.cores.softirq, 2), num(p.cores.total, 2), num(p.nsPerFrame.total),
    num(p.coresPer10G, 2), freedCell(p), p.warnings.length ? '! see warnings' : 'ok'];
}

function table(head: readonly string[], rows: string[][], warnRows: boolean[] = []): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const tr = rows.map((r, i) => `<tr${warnRows[i] ? ' class="warn"' : ''}>${r.map((c, j) => `<td${j > 1 ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody>\n</table>`;
}

function stageTable(plans: PlanFigures[]): string {
  const runs = plans.filter((p) => p.stages.length > 0);
  if (runs.length === 0) return '';
  const names = [...new Set(runs.flatMap((p) => p.stages.map((s) => s.name)))];
  const rows = runs.map((p) => [p.plan, String(p.frameSize), ...names.map((n) => num(p.stages.find((s) => s.name === n)?.nsPerFrame ?? null))]);
  return `<h3>vtepd stage time, ns per delivered frame</h3>
<p>The daemons' own per-batch stage timers (sampled on 1 batch in 16, scaled), both hypervisors summed; rx and tx include their system calls.</p>
${table(['plan', 'frame B', ...names], rows)}`;
}

const STYLE = `body{font-family:sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}h3{font-size:1em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}th,td{border:1px solid #ccc;padding:.25em .5em}
th{background:#f2f2f2}td.n{text-align:right}tr.warn td{background:#fff3f0}
.summary{background:#f4f8fb;border-left:4px solid #4e79a7;padding:.6em 1em}.warnings{color:#8a0000}
.meta{color:#555}code{background:#f2f2f2;padding:0 .2em}details{margin:.3em 0}`;

export function reportHtml(d: CostReportDoc): string {
  const svg = reportSvg(d).replace(' xmlns="http://www.w3.org/2000/svg"', ''); // inline SVG in HTML needs no namespace
  const warns = d.plans.flatMap((p) => p.warnings.map((w) => `<li>${esc(`${p.plan} @${p.frameSize} B: ${w}`)}</li>`));
  const rate = d.offeredRate === 'max' ? 'as fast as the generator could send' : `${num(d.offeredRate)} frames/s offered`;
  const notes = d.plans.map((p) => `<details><summary>${esc(`${p.plan} @${p.frameSize} B`)}</summary><ul>${p.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></details>`).join('\n');
  const formulas = Object.entries(d.formulas).map(([k, v]) => `<li><code>${esc(k)}</code> = ${esc(v)}</li>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vtepd cost report — ${esc(d.host.hostname ?? '')} — ${esc(d.generatedAt.slice(0, 10))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>What each offload plan costs the host CPU</h1>
<p class="meta">${esc(d.generatedAt)} · host ${esc(d.host.hostname ?? '?')} · ${d.host.cpus} × ${esc(d.host.cpuModel)} · Linux ${esc(d.host.kernel)} · Node ${esc(d.host.node)} · traffic: ${esc(rate)} · baseline: ${esc(d.baseline)}</p>
<h2>Summary</h2>
<div class="summary">
${d.summary.map((s) => `<p>${esc(s)}</p>`).join('\n')}
<p>Figures are host CPU per delivered frame, ${esc(d.label)}. Lower is better.</p>
</div>
${warns.length ? `<h2>Warnings</h2>\n<ul class="warnings">\n${warns.join('\n')}\n</ul>` : ''}
<h2>Chart</h2>
${svg}
<h2>Figures (headline: CPU attributed by process)</h2>
${table(TABLE_COLUMNS, d.plans.map(cells), d.plans.map((p) => p.warnings.length > 0))}
<p>user / system / softirq / cores: host CPU in cores (CPU seconds per second); ns/frame: host CPU per delivered frame; cores/10G: cores needed at 10 Gb/s line rate at that frame size; freed: share of the ${esc(d.baseline)} plan's CPU per frame this plan frees, at the same frame size.</p>
${stageTable(d.plans)}
<h2>Secondary view: host-wide /proc/stat</h2>
<p>${esc(d.hostWide.label)}.</p>
${table(TABLE_COLUMNS, d.hostWide.plans.map(cells), d.hostWide.plans.map((p) => p.warnings.length > 0))}
<h2>Method</h2>
<p>For each plan <code>vtepd cost</code> builds a fresh namespace topology — a generator namespace, two hypervisor namespaces joined by an underlay veth, a sink namespace — and offers the same traffic: a learning warm-up, then a measured window of paced frames. The kernel plan uses the kernel's vxlan device and bridge, the host, native and xdp plans two <code>vtepd run</code> daemons (TypeScript; the C addon for encap/decap and forwarding; or vtepd's XDP programs in front of the C stages, whose work runs in softirq and is attributed as the kernel plan's). The wire plan, when run, joins the generator and the sink by one veth with no VTEP: its row is the traffic's own send and receive, and the summary takes it off the other plans' figures. Delivered frames are counted at the sink.</p>
<p>Headline view: CPU attributed by process — the daemons' user and system time (/proc/PID/stat), the generator's system time (its sends, with the softirq work the kernel runs inline in them), and the ksoftirqd threads minus their idle rate. Secondary view: the host-wide user, system and softirq counters of /proc/stat over the window, minus the generator's user time; it includes whatever else the host ran. Before each run the idle topology is measured for background load; runs with background load or a busy host are flagged.</p>
<ul>
${formulas}
</ul>
<h2>Notes per run</h2>
${notes}
<p class="meta">Generated by vtepd cost; schema ${esc(d.schema)}. How to read it: docs/cost-report.md in the vtepd sources.</p>
</body>
</html>
`;
}

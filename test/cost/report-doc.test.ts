/**
 * The cost report as handed over, rendered from a recorded result object
 * (test/cost/fixtures/recorded-runs.json: the runs of the 2026-11-27
 * bench:cost): by-process attribution is the headline, /proc/stat a labelled
 * secondary view (also in the JSON); summary sentences; load warnings in the
 * table, the chart and the HTML; the HTML is one self-contained file with no
 * external reference; the SVG has a title with date, host, rate and "lower is
 * better", and x labels that do not overlap; the default --out folder.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanRun } from '../../src/cost/plan-run.js';
import { buildReportDoc, HOST_WIDE_LABEL } from '../../src/cost/report-views.js';
import { reportDocText, reportSvg } from '../../src/cost/report-render.js';
import { reportHtml } from '../../src/cost/report-html.js';
import { defaultOutDir, writeReportFolder } from '../../src/cost/report-files.js';

const rec = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'recorded-runs.json'), 'utf8')) as {
  generatedAt: string; offeredRate: number; attributed: PlanRun[]; hostWide: PlanRun[];
};
const doc = (attributed = rec.attributed) => buildReportDoc(attributed, rec.hostWide, { now: new Date(rec.generatedAt), offeredRate: rec.offeredRate });

/** Python's ElementTree / html.parser as independent parsers. */
function py(code: string, input: string): string {
  const p = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(p.stderr);
  return p.stdout;
}

t.test('headline = by-process attribution, host-wide = labelled secondary view, both in the JSON', async (t) => {
  const d = doc();
  t.equal(d.schema, 'vtepd-cost-report/2');
  t.equal(d.view, 'by-process');
  t.same(d.plans.map((p) => p.cpuSeconds.user), rec.attributed.map((r) => r.cpu.user), 'plans are the attributed runs');
  t.same(d.hostWide.plans.map((p) => p.cpuSeconds.system), rec.hostWide.map((r) => r.cpu.system), 'hostWide are the /proc/stat runs');
  t.equal(d.hostWide.label, HOST_WIDE_LABEL);
  const json = JSON.parse(JSON.stringify(d)) as typeof d;
  t.ok(json.hostWide.plans.length === 6 && json.plans.length === 6);
  // One sentence per non-baseline plan and size: which plan, how much, at what traffic.
  t.equal(d.summary.length, 4);
  const k64 = d.plans.find((p) => p.plan === 'kernel' && p.frameSize === 64)!;
  const line = d.summary.find((s) => s.includes('kernel') && s.includes('of 64 B'))!;
  t.match(line, new RegExp(`^At ${Math.round(k64.deliveredFps).toLocaleString('en-US')} frames/s of 64 B frames, the kernel plan (frees|costs) \\d+%`));
  t.match(line, /cores (freed|more) at this rate/);
  const text = reportDocText(d);
  t.ok(text.indexOf('Summary:') < text.indexOf('Headline') && text.indexOf('Headline') < text.indexOf('Secondary'), 'summary, headline, then the secondary view');
  t.match(text, /Secondary — host-wide CPU from \/proc\/stat/);
});

t.test('load warnings reach the table, the chart and the HTML', async (t) => {
  const busy = rec.attributed.map((r) => (r.plan === 'kernel' && r.frameSize === 64 ? { ...r, load: { loadavg1: 1.9, cpus: 2, idleCores: 0.31, idleSubtracted: false } } : r));
  const d = doc(busy);
  const k = d.plans.find((p) => p.plan === 'kernel' && p.frameSize === 64)!;
  t.equal(k.warnings.length, 2, 'background load and a busy host');
  t.match(k.warnings[0], /background load: 0\.31 cores .*included in the figures/);
  t.match(k.warnings[1], /busy host: load average 1\.90 on 2 CPUs/);
  const text = reportDocText(d);
  t.match(text, /^kernel\s+64 .* ! \[1,2\]$/m, 'table row flagged');
  t.match(text, /^! \[1\] kernel @64 B: background load/m, 'footnote under the table');
  t.match(text, /^host\s+64 .* ok$/m, 'quiet runs read ok');
  const svg = reportSvg(d);
  const texts = JSON.parse(py('import sys,json,xml.etree.ElementTree as E\nr=E.fromstring(sys.stdin.read())\nprint(json.dumps(["".join(x.itertext()) for x in r.iter("{http://www.w3.org/2000/svg}text")]))', svg)) as string[];
  t.equal(texts.filter((x) => x === '! load').length, 1, 'chart marks the warned bar');
  t.ok(texts.some((x) => x.startsWith('! load: background load or a busy host')), 'chart footnote');
  t.match(reportHtml(d), /<h2>Warnings<\/h2>\n<ul class="warnings">\n<li>kernel @64 B: background load/);
  t.notMatch(reportHtml(doc()), /<h2>Warnings<\/h2>/, 'no warnings section when none');
});

t.test('the HTML report: self-contained, well-formed, summary + chart + tables + method', async (t) => {
  const html = reportHtml(doc());
  for (const [what, re] of [['http(s) URL', /https?:\/\//i], ['src/href attribute', /\s(src|href|xlink:href)\s*=/i], ['CSS url()', /url\(/i],
    ['@import', /@import/i], ['script', /<script/i], ['link element', /<link/i], ['iframe/object/embed', /<(iframe|object|embed)/i]] as const) {
    t.notMatch(html, re, `no ${what}`);
  }
  const check = py(`import sys
from html.parser import HTMLParser
VOID={'meta','br','hr','img','input','link','col','area','base','wbr','source','rect','line','path','circle'}
class P(HTMLParser):
    def __init__(s): super().__init__(); s.stack=[]; s.bad=[]; s.tags={}
    def handle_starttag(s,t,a):
        s.tags[t]=s.tags.get(t,0)+1
        if t not in VOID: s.stack.append(t)
    def handle_startendtag(s,t,a): s.tags[t]=s.tags.get(t,0)+1
    def handle_endtag(s,t):
        if t in VOID: return
        if not s.stack or s.stack[-1]!=t: s.bad.append(t)
        else: s.stack.pop()
p=P(); p.feed(sys.stdin.read()); import json; print(json.dumps({'open':p.stack,'bad':p.bad,'tags':p.tags}))`, html);
  const r = JSON.parse(check) as { open: string[]; bad: string[]; tags: Record<string, number> };
  t.same(r.open, [], 'every element closed');
  t.same(r.bad, [], 'properly nested');
  t.equal(r.tags.svg, 1, 'the chart inline');
  t.equal(r.tags.table, 3, 'headline, stage and host-wide tables');
  for (const s of ['<h2>Summary</h2>', '<h2>Chart</h2>', '<h2>Method</h2>', 'Secondary view: host-wide /proc/stat', 'lower is better', 'At ']) t.ok(html.includes(s), `has ${s}`);
  t.match(html, /<tr><td>native<\/td><td>1400<\/td>/, 'rows from the runs');
});

t.test('SVG: title with date, host, rate, "lower is better"; x labels never overlap', async (t) => {
  const d = doc();
  const parse = (svg: string) => JSON.parse(py(`import sys,json,xml.etree.ElementTree as E
r=E.fromstring(sys.stdin.read())
print(json.dumps([{"t":"".join(x.itertext()),"x":float(x.get("x","0")),"y":float(x.get("y","0")),"anchor":x.get("text-anchor",""),"tr":x.get("transform","")} for x in r.iter("{http://www.w3.org/2000/svg}text")]))`, svg)) as { t: string; x: number; y: number; anchor: string; tr: string }[];
  const texts = parse(reportSvg(d));
  t.match(texts[0].t, /lower is better/);
  t.match(texts[1].t, new RegExp(`^${rec.generatedAt.slice(0, 10)} · host \\S+ \\(\\d+ CPUs\\) · 200,000 frames/s offered · CPU attributed by process$`));
  // Labels under the axis: centred texts on the same line must not overlap (width estimate 7 px per character at 12 px).
  const overlaps = (ts: typeof texts): number => {
    let n = 0;
    const rows = new Map<number, typeof texts>();
    for (const x of ts.filter((x) => x.anchor === 'middle' && !x.tr && x.y > 60)) rows.set(x.y, [...(rows.get(x.y) ?? []), x]);
    for (const row of rows.values()) {
      row.sort((a, b) => a.x - b.x);
      for (let i = 1; i < row.length; i++) if (row[i - 1].x + row[i - 1].t.length * 3.5 > row[i].x - row[i].t.length * 3.5) n++;
    }
    return n;
  };
  t.equal(overlaps(texts), 0, 'six categories: plan and size on separate lines, no overlap');
  t.ok(texts.some((x) => x.t === 'native') && texts.some((x) => x.t === '1400 B'));
  // Many categories: labels turn instead of running together.
  const many = buildReportDoc([...Array(12)].map((_, i) => ({ ...rec.attributed[i % 6], plan: `plan-number-${i}`, frameSize: 64 + i })),
    [...Array(12)].map((_, i) => ({ ...rec.hostWide[i % 6], plan: `plan-number-${i}`, frameSize: 64 + i })), { now: new Date(0) });
  const mt = parse(reportSvg(many));
  const labels = mt.filter((x) => x.t.startsWith('plan-number-'));
  t.equal(labels.length, 12);
  t.ok(labels.every((x) => /^rotate\(-35 /.test(x.tr)), 'long labels rotated');
  t.equal(overlaps(mt), 0);
});

t.test('report folder: default name under the current directory, files written whole', async (t) => {
  t.equal(defaultOutDir(new Date(Date.UTC(2026, 11, 5, 8, 30, 12)), '/srv/x'), '/srv/x/vtepd-cost-20261205-083012');
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cost-doc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeReportFolder(join(dir, 'out'), doc());
  t.same(readdirSync(join(dir, 'out')).sort(), [...files].sort(), 'no temporary files left');
  t.same(files.sort(), ['cost-report-host-wide.svg', 'cost-report.html', 'cost-report.json', 'cost-report.svg', 'cost-report.txt']);
  t.equal(JSON.parse(readFileSync(join(dir, 'out', 'cost-report.json'), 'utf8')).schema, 'vtepd-cost-report/2');
  const main = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) { t.skip('dist not built: --help text not checked'); return; }
  const help = spawnSync(process.execPath, [main, 'cost', '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
  t.match(help, /default: a new folder vtepd-cost-YYYYMMDD-HHMMSS in the current directory/, '--help names the default');
});

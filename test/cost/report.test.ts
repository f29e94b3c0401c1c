import t from 'tap';
import { spawnSync } from 'node:child_process';
import { buildCostReport } from '../../src/cost/report.js';
import { summarize } from '../../src/cost/report-views.js';
import { reportJson, reportTable, reportSvg, TABLE_COLUMNS } from '../../src/cost/report-render.js';
import { beginPlanRun, type PlanRun } from '../../src/cost/plan-run.js';
import { svgBarChart, niceCeil, escapeXml } from '../../src/cost/svg-chart.js';

const run = (plan: string, over: Partial<PlanRun> = {}): PlanRun => ({
  plan,
  frameSize: 64,
  durationSeconds: 2,
  offeredFrames: 2_000_000,
  deliveredFrames: 2_000_000,
  cpu: { user: 1, system: 0.5, softirq: 0.5 },
  ...over,
});

/** Independent XML check: Python's ElementTree parses the SVG and counts elements. */
function parseSvg(svg: string): { root: string; rects: number; texts: string[] } {
  const py = 'import sys,json,xml.etree.ElementTree as E\nr=E.fromstring(sys.stdin.read())\nns="{http://www.w3.org/2000/svg}"\nprint(json.dumps({"root":r.tag,"rects":len(r.findall(".//"+ns+"rect")),"texts":["".join(x.itertext()) for x in r.iter(ns+"text")]}))';
  const p = spawnSync('/usr/bin/python3', ['-c', py], { input: svg, encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`SVG is not well-formed XML: ${p.stderr}`);
  return JSON.parse(p.stdout);
}

t.test('figures on exact numbers', async (t) => {
  const r = buildCostReport([run('host'), run('kernel', { cpu: { user: 0, system: 0.25, softirq: 0.25 }, deliveredFrames: 1_000_000 })], { now: new Date(0) });
  t.equal(r.baseline, 'host');
  const [h, k] = r.plans;
  t.equal(h.nsPerFrame.total, 1000, '2 CPU s / 2e6 frames');
  t.equal(h.cores.total, 1);
  t.equal(h.deliveredFps, 1e6);
  t.equal(h.freedVsBaseline, 0);
  t.ok(Math.abs(h.coresPer10G! - 14.880952380952381) < 1e-9, '1000 ns * 14.88 Mpps');
  t.equal(k.nsPerFrame.total, 500, '0.5 CPU s / 1e6 delivered frames');
  t.equal(k.freedVsBaseline, 0.5);
  t.equal(k.loss, 0.5);
  t.equal(k.lostFrames, 1e6);
  t.equal(k.nsPerFrame.user, 0);
  t.ok(Math.abs(h.lineRateShare10G - 1e6 / 14880952.380952381) < 1e-12);
  t.equal(r.generatedAt, '1970-01-01T00:00:00.000Z');
});

t.test('inconsistent inputs are refused', async (t) => {
  t.throws(() => buildCostReport([run('host', { deliveredFrames: 3_000_000 })]), /plan host: delivered 3000000 frames > offered 2000000/);
  t.throws(() => buildCostReport([run('host', { cpu: { user: -1, system: 0, softirq: 0 } })]), /user must be a finite number >= 0/);
  t.throws(() => buildCostReport([run('host', { durationSeconds: 0 })]), /duration must be > 0/);
  t.throws(() => buildCostReport([run('host'), run('host')]), /two runs of plan host at 64 B/);
  t.throws(() => buildCostReport([run('host')], { baseline: 'nic' }), /baseline plan "nic" is not among/);
  t.throws(() => buildCostReport([]), /at least one/);
});

t.test('invariants hold for many generated runs; per-frame-size baselines', async (t) => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 50; i++) {
    const runs = ['host', 'native', 'kernel'].flatMap((plan) =>
      [64, 1400].map((frameSize) => {
        const offered = Math.floor(rnd() * 1e6);
        return run(plan, { frameSize, offeredFrames: offered, deliveredFrames: Math.floor(offered * rnd()), cpu: { user: rnd() * (plan === 'kernel' ? 0 : 2), system: rnd(), softirq: rnd() } });
      }),
    );
    const r = buildCostReport(runs);
    for (const p of r.plans) {
      if (p.deliveredFrames > p.offeredFrames || p.cpuSeconds.total < 0 || p.loss < 0 || p.loss > 1) t.fail(`inconsistent ${JSON.stringify(p)}`);
      if (p.freedVsBaseline !== null && (p.freedVsBaseline < -1 || p.freedVsBaseline > 1)) t.fail(`freed out of range: ${p.freedVsBaseline}`);
      if (p.plan === 'host' && p.deliveredFrames > 0 && p.freedVsBaseline !== 0) t.fail('baseline frees 0 vs itself');
    }
  }
  t.pass('50 random reports consistent');
  // Comparisons never cross frame sizes.
  const r = buildCostReport([run('host'), run('kernel', { frameSize: 1400 })]);
  t.equal(r.plans[1].freedVsBaseline, null);
});

t.test('JSON, table and SVG renderings', async (t) => {
  const r = buildCostReport([run('host'), run('native', { cpu: { user: 0.6, system: 0.5, softirq: 0.5 } }), run('kernel', { deliveredFrames: 0 })]);
  const j = JSON.parse(reportJson(r));
  t.equal(j.schema, 'vtepd-cost-report/1');
  t.equal(j.plans.length, 3);
  t.equal(j.plans[2].nsPerFrame.total, null, 'no frames delivered: per-frame cost unknown, not 0');
  const table = reportTable(r).split('\n');
  t.same(table[0].trim().split(/\s{2,}/), [...TABLE_COLUMNS]);
  t.match(table[2], /^host\s+64\s+1,000,000\s+1,000,000\s+0\.0%\s+0\.50\s+0\.25\s+0\.25\s+1\.00\s+1,000\s+14\.88\s+0\.0%\s+ok$/);
  t.match(table[3], /^native .* 800\s+11\.90\s+\+20\.0%\s+ok$/);
  t.match(table[4], /^kernel .* 100\.0% .* n\/a\s+n\/a\s+n\/a\s+ok$/);
  const svg = reportSvg(r);
  const x = parseSvg(svg);
  t.equal(x.root, '{http://www.w3.org/2000/svg}svg');
  // background + 3 legend swatches + stacked bars: host 3, native 3, kernel none.
  t.equal(x.rects, 1 + 3 + 6);
  t.ok(x.texts.includes('host') && x.texts.includes('64 B') && x.texts.includes('freed +20.0%') && x.texts.includes('n/a'), 'plan and size on two label lines');
  t.ok(x.texts.some((s) => s.includes('lower is better')), 'the title says which way is good');
  t.ok(x.texts.includes('1000') && x.texts.includes('800'), 'stack totals labelled');
});

t.test('stage table: the daemons\' stage timers per delivered frame, only for runs that have them', async (t) => {
  const st = (e: number, b: number) => [{ name: 'rx', nsPerFrame: 100, framesPerBatch: e / 4 }, { name: 'bridge', nsPerFrame: b }, { name: 'encap', nsPerFrame: e }];
  const r = buildCostReport([run('host', { stages: st(40, 60) }), run('native', { stages: st(10, 20) }), run('kernel')]);
  t.same(r.plans[1].stages, st(10, 20), 'carried into the JSON');
  const lines = reportTable(r).split('\n');
  const at = lines.findIndex((l) => l.startsWith('vtepd stage time'));
  t.ok(at > 0, 'stage section present');
  t.same(lines[at + 1].trim().split(/\s+/), ['plan', 'frame', 'B', 'rx', 'bridge', 'encap', 'sum', 'rx', 'frames/batch']);
  t.same(lines[at + 3].trim().split(/\s+/), ['host', '64', '100', '60', '40', '200', '10.0']);
  t.same(lines[at + 4].trim().split(/\s+/), ['native', '64', '100', '20', '10', '130', '2.5']);
  t.notOk(lines.slice(at).some((l) => l.startsWith('kernel')), 'no row for a plan without a vtepd data path');
  t.notOk(reportTable(buildCostReport([run('kernel')])).includes('vtepd stage time'), 'no section when no run has stages');
});

t.test('svg chart: escaping, grouped mode, refusals', async (t) => {
  const svg = svgBarChart({ title: 'a < b & "c"', unit: 'ns', categories: ['x<y', 'z'], series: [{ name: 's1', values: [1, 2], color: '#000' }, { name: 's2', values: [3, null], color: '#111' }] });
  const x = parseSvg(svg);
  t.ok(x.texts.includes('a < b & "c"') && x.texts.includes('x<y'));
  t.equal(x.rects, 1 + 2 + 3);
  t.throws(() => svgBarChart({ title: '', unit: '', categories: ['a'], series: [{ name: 's', values: [-1], color: '#000' }] }), /finite and >= 0/);
  t.throws(() => svgBarChart({ title: '', unit: '', categories: ['a'], series: [{ name: 's', values: [1, 2], color: '#000' }] }), /2 values for 1 categories/);
  t.same([niceCeil(0), niceCeil(7), niceCeil(1000), niceCeil(1001), niceCeil(0.03)], [1, 10, 1000, 2000, 0.05]);
  t.equal(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&apos;');
});

t.test('plan run sampler: host deltas minus the excluded generator CPU', async (t) => {
  const times = [
    { user: 10, nice: 1, system: 5, idle: 100, iowait: 0, irq: 0, softirq: 2, steal: 0, cpus: 2 },
    { user: 12, nice: 1.5, system: 6, idle: 101, iowait: 0, irq: 0, softirq: 2.75, steal: 0, cpus: 2 },
  ];
  const s = beginPlanRun(() => times.shift()!);
  const r = s.end({ plan: 'host', frameSize: 64, offeredFrames: 10, deliveredFrames: 9, exclude: { user: 0.5, system: 2 } });
  t.same(r.cpu, { user: 2, system: 0, softirq: 0.75 }, 'user 2.5 - 0.5; system clamped at 0');
  t.ok(r.durationSeconds >= 0);
  t.notOk('exclude' in r);
  const real = beginPlanRun().end({ plan: 'x', frameSize: 64, offeredFrames: 0, deliveredFrames: 0 });
  t.ok(real.cpu.user >= 0 && real.cpu.system >= 0 && real.cpu.softirq >= 0);
});

t.test('the wire plan: the traffic\'s own cost, taken off every other row (netNsPerFrame) and named in the summary', async (t) => {
  // 2e6 frames in 2 s: 1 CPU s = 500 ns per frame.
  const cpu = (s: number) => ({ user: 0, system: s, softirq: 0 });
  const r = buildCostReport([
    run('host', { cpu: cpu(4) }), run('kernel', { cpu: cpu(2) }), run('xdp', { cpu: cpu(1.5) }), run('wire', { cpu: cpu(1) }),
    run('kernel', { frameSize: 1400, cpu: cpu(2) }),
  ], { now: new Date(0) });
  const by = (plan: string, size = 64) => r.plans.find((p) => p.plan === plan && p.frameSize === size)!;
  t.equal(r.baseline, 'host', 'the wire row is never the baseline while a plan runs');
  t.equal(by('wire').nsPerFrame.total, 500);
  t.equal(by('wire').netNsPerFrame, null, 'no net figure for the wire itself');
  t.equal(by('wire').freedVsBaseline, null, 'nor a freed share (it is not an overlay)');
  t.equal(by('host').netNsPerFrame, 1500, '2000 - 500');
  t.equal(by('kernel').netNsPerFrame, 500, '1000 - 500');
  t.equal(by('xdp').netNsPerFrame, 250, '750 - 500');
  t.equal(by('kernel', 1400).netNsPerFrame, null, 'no wire run at 1400 B: no net figure');
  const s = summarize(r);
  t.notOk(s.some((x) => /the wire plan frees|wire plan costs/.test(x)), 'no "frees" sentence for the wire');
  t.match(s.join('\n'), /Net of the traffic's own cost at 64 B \(the wire plan, .*: 500 ns per frame\), the overlay itself costs host 1,500 ns \(3\.00x the kernel's\), kernel 500 ns, xdp 250 ns \(0\.50x the kernel's\) per frame\./);
  t.match(reportTable(r), /^wire +64 .* 500 +[\d.]+ +- +ok$/m, 'the table prints "-" in the wire row\'s freed column');
  t.equal(buildCostReport([run('wire')]).baseline, 'wire', 'alone, it is its own baseline');
});

/**
 * `vtepd cost` end to end (root): plans host, native and kernel on a short run, the
 * report's figures consistent across JSON, table and SVG; SVG checked
 * well-formed by Python's XML parser; native/nic refused with the probe's own
 * reason (from `vtepd offload probe --json`); namespaces gone afterwards.
 */
import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const root = process.getuid?.() === 0;

function vtepd(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => c.kill('SIGINT'), timeoutMs);
    c.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, pid: c.pid! }); });
  });
}

const namespaces = (prefix: string) => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));

/** `vtepd cost ARGS --out DIR` into a fresh folder; the folder and any namespace the run left are removed at teardown. */
async function costRun(t: Test, args: string[], timeoutMs: number) {
  const out = mkdtempSync(join(tmpdir(), 'vtc-test-'));
  let pid = 0;
  t.teardown(() => {
    rmSync(out, { recursive: true, force: true });
    for (const ns of pid ? namespaces(`vtc${pid}`) : []) execFileSync('ip', ['netns', 'del', ns]);
  });
  const r = await vtepd(['cost', ...args, '--out', out], timeoutMs);
  pid = r.pid;
  return { r, out, pid };
}

interface Plan {
  plan: string; frameSize: number; offeredFrames: number; deliveredFrames: number; deliveredFps: number; offeredFps: number;
  cpuSeconds: { total: number }; nsPerFrame: { total: number | null }; coresPer10G: number | null; freedVsBaseline: number | null;
}

t.test('vtepd cost runs host, native and kernel end to end', { skip: root ? false : 'needs root (namespaces)' }, async (t) => {
  const { r, out, pid } = await costRun(t, ['--plans', 'host,native,kernel', '--frame-size', '64', '--duration', '1', '--rate', '20000', '--json'], 80000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  const json = JSON.parse(r.stdout) as { schema: string; baseline: string; view: string; plans: Plan[]; hostWide: { plans: Plan[] }; summary: string[] };
  t.same(JSON.parse(readFileSync(join(out, 'cost-report.json'), 'utf8')), json, 'stdout JSON = cost-report.json');
  t.equal(json.schema, 'vtepd-cost-report/2');
  t.equal(json.view, 'by-process', 'the headline is the per-process attribution');
  t.equal(json.summary.length, 2, 'one summary sentence per plan compared with host');
  t.same(json.plans.map((p) => [p.plan, p.frameSize]), [['host', 64], ['native', 64], ['kernel', 64]]);
  for (const p of json.plans) {
    t.ok(p.deliveredFrames > 0, `${p.plan}: delivered ${p.deliveredFrames} > 0`);
    t.ok(p.deliveredFrames <= p.offeredFrames, `${p.plan}: delivered <= offered (${p.offeredFrames})`);
    // 1 s at 20,000 f/s (rate pacing): offered within 25% of the asked volume.
    t.ok(Math.abs(p.offeredFrames - 20000) < 5000, `${p.plan}: offered ${p.offeredFrames} ~ 20,000`);
    t.ok(p.cpuSeconds.total > 0, `${p.plan}: CPU ${p.cpuSeconds.total} s > 0 (the generator's sends at least)`);
    t.ok(p.freedVsBaseline !== null && p.freedVsBaseline >= -1 && p.freedVsBaseline <= 1, `${p.plan}: freed ${p.freedVsBaseline} in [-1, 1]`);
    t.ok(Math.abs(p.nsPerFrame.total! - (p.cpuSeconds.total * 1e9) / p.deliveredFrames) < 1e-6 * p.nsPerFrame.total!, 'ns/frame = CPU / delivered');
  }
  t.equal(json.plans[0].freedVsBaseline, 0, 'the baseline frees nothing against itself');
  // Stage timers: the daemons' plans have them (bridge, encap and decap ran), the kernel's has none.
  for (const p of json.plans.slice(0, 2) as (Plan & { stages: { name: string; nsPerFrame: number | null }[] })[]) {
    for (const st of ['bridge', 'encap', 'decap']) {
      const v = p.stages.find((s) => s.name === st)?.nsPerFrame;
      t.ok(v !== undefined && v !== null && v > 0, `${p.plan}: ${st} stage ${v} ns/frame > 0`);
    }
  }
  t.same((json.plans[2] as Plan & { stages: unknown[] }).stages, [], 'kernel: no vtepd stages');

  // The table shows the JSON's figures (rounded as printed).
  const table = readFileSync(join(out, 'cost-report.txt'), 'utf8');
  const rows = table.split('\n').filter((l) => /^(host|native|kernel)\s/.test(l)).map((l) => l.trim().split(/\s+/)).slice(0, 3);
  t.equal(rows.length, 3, 'one table row per run');
  const n = (s: string) => Number(s.replace(/[,%+]/g, ''));
  for (const [i, row] of rows.entries()) {
    const p = json.plans[i];
    t.equal(row[0], p.plan);
    t.equal(n(row[1]), p.frameSize);
    t.ok(Math.abs(n(row[2]) - p.offeredFps) <= 0.5, `${p.plan} offered f/s ${row[2]} ~ ${p.offeredFps}`);
    t.ok(Math.abs(n(row[3]) - p.deliveredFps) <= 0.5, `${p.plan} delivered f/s ${row[3]} ~ ${p.deliveredFps}`);
    t.ok(Math.abs(n(row[9]) - p.nsPerFrame.total!) <= 0.5, `${p.plan} ns/frame ${row[9]} ~ ${p.nsPerFrame.total}`);
    t.ok(Math.abs(n(row[10]) - p.coresPer10G!) <= 0.005, `${p.plan} cores/10G ${row[10]} ~ ${p.coresPer10G}`);
    t.ok(Math.abs(n(row[11]) - p.freedVsBaseline! * 100) <= 0.05, `${p.plan} freed ${row[11]} ~ ${p.freedVsBaseline}`);
  }

  // SVG: well-formed for an independent XML parser, one bar label per run.
  const svgPath = join(out, 'cost-report.svg');
  const root = execFileSync('/usr/bin/python3', ['-c', 'import sys, xml.etree.ElementTree as E; print(E.parse(sys.argv[1]).getroot().tag)', svgPath], { encoding: 'utf8' }).trim();
  t.equal(root, '{http://www.w3.org/2000/svg}svg', 'SVG parses, root is <svg>');
  const svg = readFileSync(svgPath, 'utf8');
  for (const p of json.plans) t.match(svg, `>${p.plan}</text>`, `chart labels ${p.plan}`);
  t.match(svg, /lower is better/);

  // The host-wide view, in the same JSON: same runs and frame counts, its own CPU, also consistent.
  const wide = json.hostWide;
  t.same(wide.plans.map((p) => [p.plan, p.offeredFrames, p.deliveredFrames]), json.plans.map((p) => [p.plan, p.offeredFrames, p.deliveredFrames]), 'host-wide view: same runs and counts');
  for (const p of wide.plans) {
    t.ok(p.cpuSeconds.total > 0, `host-wide ${p.plan}: CPU ${p.cpuSeconds.total} s > 0`);
    t.ok(p.freedVsBaseline !== null && p.freedVsBaseline >= -1 && p.freedVsBaseline <= 1, `host-wide ${p.plan}: freed in [-1, 1]`);
  }
  execFileSync('/usr/bin/python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', join(out, 'cost-report-host-wide.svg')]);
  t.match(readFileSync(join(out, 'cost-report.html'), 'utf8'), /<h2>Summary<\/h2>/, 'HTML report written');

  t.same(namespaces(`vtc${pid}`), [], 'every namespace of the run was removed');
});

t.test('vtepd cost --plans kernel,wire: the wire row is the traffic alone, and the kernel row gets its net figure', { skip: root ? false : 'needs root (namespaces)' }, async (t) => {
  const { r, pid } = await costRun(t, ['--plans', 'kernel,wire', '--frame-size', '64', '--duration', '1', '--rate', '20000', '--json'], 60000);
  t.equal(r.code, 0, `exit 0 (stderr: ${r.stderr.slice(-400)})`);
  type Net = Plan & { netNsPerFrame: number | null; notes: string[] };
  const json = JSON.parse(r.stdout) as { baseline: string; plans: Net[]; summary: string[] };
  const [kernel, wire] = json.plans;
  t.equal(json.baseline, 'kernel', 'the wire is not the baseline');
  t.equal(wire.plan, 'wire');
  t.ok(wire.deliveredFrames > 0.99 * wire.offeredFrames, `the wire delivered what was offered (${wire.deliveredFrames} of ${wire.offeredFrames})`);
  t.ok(wire.cpuSeconds.total > 0, 'the traffic itself costs CPU (the generator\'s sends)');
  t.match(wire.notes.join('\n'), /wire: no VTEP/);
  t.equal(wire.freedVsBaseline, null);
  t.equal(wire.netNsPerFrame, null);
  t.ok(Math.abs(kernel.netNsPerFrame! - (kernel.nsPerFrame.total! - wire.nsPerFrame.total!)) < 1e-6, `kernel net ${kernel.netNsPerFrame} = its ns/frame - the wire's`);
  t.match(json.summary.join('\n'), /Net of the traffic's own cost at 64 B .* the overlay itself costs kernel -?[\d,]+ ns per frame\./);
  t.same(namespaces(`vtc${pid}`), [], 'every namespace of the run was removed');
});

t.test('native and nic are refused with the probe\'s reason', { skip: root ? false : 'needs root (probe)' }, async (t) => {
  const probe = JSON.parse(execFileSync(process.execPath, [MAIN, 'offload', 'probe', '--json'], { encoding: 'utf8' })) as {
    availability: { function: string; tunnel: string | null; placements: Record<string, { ok: boolean; reason: string }> }[];
  };
  const row = probe.availability.find((r) => r.function === 'encap-decap' && r.tunnel === 'vxlan')!;
  // One run asks for both: every refusal is reported at once.
  const r = await vtepd(['cost', '--plans', 'host,native,nic', '--duration', '1'], 30000);
  t.equal(r.code, 2, 'usage error exit code');
  t.equal(r.stdout, '', 'no report');
  for (const plan of ['native', 'nic']) {
    const a = row.placements[plan];
    if (a.ok) { t.pass(`${plan} is available on this host: nothing to refuse`); continue; }
    t.match(r.stderr, `plan ${plan} is unavailable on this host`, `${plan}: says it is unavailable`);
    t.ok(r.stderr.includes(a.reason), `${plan}: names the probe's reason (${a.reason.slice(0, 80)}...)`);
  }
  const bad = await vtepd(['cost', '--plans', 'warp'], 10000);
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'unknown plan warp');
});

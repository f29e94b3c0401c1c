import t from 'tap';
import { Registry } from 'prom-client';
import { CostMeter } from '../../src/cost/meter.js';
import { registerCostMetrics } from '../../src/cost/metrics.js';

const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1]);

t.test('scrape exposes the meter counters and CPU', async (t) => {
  const m = new CostMeter(['decap', 'encap'], { sampleEvery: 1 });
  const reg = new Registry();
  registerCostMetrics(reg, m);
  let s = m.begin();
  s = m.stage(0, s, 64);
  m.stage(1, s, 60);
  m.countIn(64, 64 * 100);
  m.countDrop(4);
  const text = await reg.metrics();
  t.equal(value(text, /^vtepd_cost_frames_total\{counter="in-frames"\} (\S+)$/m), 64);
  t.equal(value(text, /^vtepd_cost_frames_total\{counter="in-bytes"\} (\S+)$/m), 6400);
  t.equal(value(text, /^vtepd_cost_frames_total\{counter="drop-frames"\} (\S+)$/m), 4);
  t.equal(value(text, /^vtepd_cost_stage_frames_total\{stage="encap"\} (\S+)$/m), 60);
  t.ok(value(text, /^vtepd_cost_stage_seconds_total\{stage="decap"\} (\S+)$/m) >= 0);
  t.ok(value(text, /^vtepd_cost_process_cpu_seconds_total\{mode="user"\} (\S+)$/m) > 0);
  t.ok(value(text, /^vtepd_cost_host_cpu_seconds_total\{mode="softirq"\} (\S+)$/m) >= 0);
  t.ok(value(text, /^vtepd_cost_host_cpus (\S+)$/m) >= 1);
  // A second scrape sees new counts (fresh snapshot per scrape).
  m.countIn(1, 100);
  const again = await reg.metrics();
  t.equal(value(again, /^vtepd_cost_frames_total\{counter="in-frames"\} (\S+)$/m), 65);
});

import t from 'tap';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { CostMeter, diffSnapshots, deltaCoresPer10G, METER_COUNTERS } from '../../src/cost/meter.js';
import { parseProcStat, parseTaskStat, readHostCpu, readThreadsCpu, USER_HZ } from '../../src/cost/proc-stat.js';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** Independent oracle: utime+stime of a /proc stat file in seconds, parsed here from proc(5). */
function procCpuSeconds(path: string): number {
  const s = readFileSync(path, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime/stime are fields 14/15.
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Burn `cpuSeconds` of this thread's CPU (checked with the oracle, so a loaded machine only makes it slower), at most 20 s wall. */
function busy(cpuSeconds: number): number {
  const path = `/proc/self/task/${process.pid}/stat`;
  const start = procCpuSeconds(path);
  const deadline = Date.now() + 20000;
  let x = 0;
  while (procCpuSeconds(path) - start < cpuSeconds && Date.now() < deadline) {
    for (let i = 0; i < 2_000_000; i++) x = (x * 31 + i) | 0;
  }
  return x;
}

t.test('USER_HZ matches getconf CLK_TCK', async (t) => {
  t.equal(USER_HZ, Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
});

t.test('process and thread CPU agree within 10% with /proc/self/stat around a busy loop', async (t) => {
  const m = new CostMeter(['work'], { perThread: true });
  const procBefore = procCpuSeconds('/proc/self/stat');
  const mainBefore = procCpuSeconds(`/proc/self/task/${process.pid}/stat`);
  const a = m.snapshot();
  busy(0.7);
  const b = m.snapshot();
  const procAfter = procCpuSeconds('/proc/self/stat');
  const mainAfter = procCpuSeconds(`/proc/self/task/${process.pid}/stat`);
  const d = diffSnapshots(a, b);
  const meterProc = d.process.user + d.process.system;
  const oracleProc = procAfter - procBefore;
  t.ok(oracleProc > 0.3, `the loop really burned CPU (${oracleProc.toFixed(3)} s)`);
  t.ok(Math.abs(meterProc - oracleProc) <= 0.1 * oracleProc, `process: meter ${meterProc.toFixed(3)} s vs /proc ${oracleProc.toFixed(3)} s`);
  const meterThread = d.thread!.user + d.thread!.system;
  const oracleThread = mainAfter - mainBefore;
  t.ok(Math.abs(meterThread - oracleThread) <= 0.1 * oracleThread, `thread: meter ${meterThread.toFixed(3)} s vs /proc ${oracleThread.toFixed(3)} s`);
  t.ok(d.wallSeconds >= oracleThread * 0.9, 'wall time covers the loop');
  // The loop is user-space work: user time dominates.
  t.ok(d.process.user > d.process.system, 'busy loop is mostly user time');
});

t.test('host softirq is non-negative and monotone across snapshots with traffic', async (t) => {
  const m = new CostMeter([]);
  const rx = createSocket('udp4');
  const tx = createSocket('udp4');
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => { rx.close(); tx.close(); });
  const port = rx.address().port;
  const payload = Buffer.alloc(200);
  const snaps = [m.snapshot()];
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 500; i++) tx.send(payload, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 30));
    snaps.push(m.snapshot());
  }
  for (let i = 1; i < snaps.length; i++) {
    const d = diffSnapshots(snaps[i - 1], snaps[i]);
    t.ok(d.host!.softirq >= 0, `softirq delta ${d.host!.softirq} >= 0`);
    t.ok(d.host!.system >= 0 && d.host!.user >= 0 && d.host!.idle >= 0, 'other host deltas >= 0');
    t.ok(snaps[i].host!.softirq >= snaps[i - 1].host!.softirq, 'cumulative softirq is monotone');
  }
  t.equal(snaps[0].host!.cpus, Number(execFileSync('nproc', ['--all'], { encoding: 'utf8' }).trim()), 'cpu count from /proc/stat');
});

t.test('stages and counters accumulate per batch and diff exactly', async (t) => {
  const m = new CostMeter(['decap', 'encap'], { sampleEvery: 1 });
  const dec = m.stageIndex('decap');
  const enc = m.stageIndex('encap');
  t.throws(() => m.stageIndex('nope'), /unknown stage "nope"/);
  t.throws(() => new CostMeter(['a', 'a']), /duplicate/);
  t.throws(() => new CostMeter([], { sampleEvery: 3 }), /power of two/);
  const a = m.snapshot();
  for (let batch = 0; batch < 3; batch++) {
    let now = m.begin();
    now = m.stage(dec, now, 32);
    m.stage(enc, now, 30);
    m.countIn(32, 32 * 64);
    m.countOut(30, 30 * 114);
    m.countDrop(2);
  }
  const b = m.snapshot();
  const d = diffSnapshots(a, b);
  t.same(d.stages.map((s) => [s.name, s.frames, s.batches, s.sampledFrames]), [['decap', 96, 3, 96], ['encap', 90, 3, 90]]);
  t.ok(d.stages.every((s) => s.ns >= 0 && Math.abs(s.ns - s.sampledNs) <= 1e-9 * s.sampledNs), 'every batch timed: estimate = measurement');
  t.same(d.counters, { 'in-frames': 96, 'in-bytes': 96 * 64, 'out-frames': 90, 'out-bytes': 90 * 114, 'drop-frames': 6 });
  t.same(Object.keys(d.counters), [...METER_COUNTERS]);
});

t.test('sampling times one batch in N and scales to all frames', async (t) => {
  const m = new CostMeter(['s'], { sampleEvery: 4 });
  const starts: number[] = [];
  for (let batch = 0; batch < 8; batch++) {
    const t0 = m.begin();
    starts.push(t0);
    m.stage(0, t0, 10 + batch);
  }
  t.same(starts.map((x) => x >= 0), [true, false, false, false, true, false, false, false], 'batches 1 and 5 timed');
  const [s] = m.snapshot().stages;
  t.equal(s.frames, 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17);
  t.equal(s.batches, 8);
  t.equal(s.sampledFrames, 10 + 14);
  t.equal(s.ns, (s.sampledNs * s.frames) / s.sampledFrames);
  const d = diffSnapshots(
    { wallNs: 0, process: { user: 0, system: 0 }, thread: null, host: null, counters: m.snapshot().counters, stages: [{ name: 's', ns: 0, frames: 100, batches: 10, sampledNs: 1000, sampledFrames: 10 }] },
    { wallNs: 1, process: { user: 0, system: 0 }, thread: null, host: null, counters: m.snapshot().counters, stages: [{ name: 's', ns: 0, frames: 300, batches: 30, sampledNs: 5000, sampledFrames: 30 }] },
  );
  t.equal(d.stages[0].nsPerFrame, 200, '4000 ns over 20 sampled frames');
  t.equal(d.stages[0].ns, 200 * 200, 'scaled to the 200 frames of the interval');
});

t.test('diff derives per-frame figures from exact snapshots', async (t) => {
  const host = (softirq: number, system: number) => ({ user: 1, nice: 0, system, idle: 5, iowait: 0, irq: 0, softirq, steal: 0, cpus: 2 });
  const counters = (f: number) => ({ 'in-frames': f, 'in-bytes': f * 60, 'out-frames': f, 'out-bytes': f * 110, 'drop-frames': 0 });
  const a = { wallNs: 0, process: { user: 1, system: 0.5 }, thread: null, host: host(2, 3), counters: counters(0), stages: [{ name: 's', ns: 0, frames: 0, batches: 0, sampledNs: 0, sampledFrames: 0 }] };
  const b = { wallNs: 2e9, process: { user: 1.75, system: 0.75 }, thread: null, host: host(2.5, 4), counters: counters(1e6), stages: [{ name: 's', ns: 2e8, frames: 1e6, batches: 1e4, sampledNs: 2e7, sampledFrames: 1e5 }] };
  const d = diffSnapshots(a, b);
  t.equal(d.wallSeconds, 2);
  t.equal(d.derived.processNsPerFrame, 1000); // 1.0 s CPU / 1e6 frames
  t.equal(d.derived.processCores, 0.5);
  t.equal(d.derived.hostSoftirqCores, 0.25);
  t.equal(d.derived.hostSystemCores, 0.5);
  t.equal(d.stages[0].nsPerFrame, 200);
  // 1000 ns/frame at 64 B: 1e-6 * 10e9 / (84 * 8) = 14.880952... cores
  t.ok(Math.abs(deltaCoresPer10G(d, 64)! - 10e9 / 672 / 1e6) < 1e-12);
});

t.test('proc parsers handle odd comm names and reject garbage', async (t) => {
  const line = '4242 (a) (b c)) R 1 2 3 0 -1 4194304 99 0 0 0 250 75 0 0 20 0 1 0 69558 3133440 380';
  const p = parseTaskStat(line);
  t.same(p, { tid: 4242, name: 'a) (b c)', user: 2.5, system: 0.75 });
  t.throws(() => parseTaskStat('garbage'), /not a \/proc stat line/);
  const s = parseProcStat('cpu  100 50 200 1000 5 7 30 0 0 0\ncpu0 1 1 1 1 1 1 1 0 0 0\ncpu1 1 1 1 1 1 1 1 0 0 0\nintr 1\n');
  t.same(s, { cpus: 2, user: 1, nice: 0.5, system: 2, idle: 10, iowait: 0.05, irq: 0.07, softirq: 0.3, steal: 0 });
  t.throws(() => parseProcStat('intr 1\n'), /no aggregate/);
  t.ok(readHostCpu().softirq >= 0);
  const threads = readThreadsCpu();
  t.ok(threads.some((x) => x.tid === process.pid), 'main thread listed');
});

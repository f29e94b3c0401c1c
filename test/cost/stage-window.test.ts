/**
 * `vtepd cost`'s stage table: a window's stage time comes from the batches timed
 * inside the window, scaled to the window's frames, per daemon. The difference
 * of two whole-run estimates can go below 0 (each is a ratio of its own
 * samples): the full suite once printed "bridge stage -387 ns/frame".
 */
import t from 'tap';
import { stageNsPerFrame } from '../../src/cost/cost-run.js';
import type { StageTotal } from '../../src/cost/cost-plans.js';

const tot = (sampledSeconds: number, sampledFrames: number, frames: number, batches: number): StageTotal =>
  // `seconds` is what the daemon's meter reports: the timed time scaled to all its frames.
  ({ seconds: (sampledSeconds * frames) / sampledFrames, frames, batches, sampledSeconds, sampledFrames });

t.test('a window is estimated from its own timed batches, per daemon, then summed', async (t) => {
  // hv1: before the window 1 timed batch of 10 frames took 1 ms over 1,000 frames; in the window one more timed
  // batch of 1,000 frames took 1 ms and 15 untimed ones came with it (16,000 frames in all).
  const a = new Map([['hv1:bridge', tot(0.001, 10, 1000, 100)], ['hv2:bridge', tot(0.002, 100, 2000, 100)]]);
  const b = new Map([['hv1:bridge', tot(0.002, 1010, 17000, 116)], ['hv2:bridge', tot(0.004, 200, 4000, 200)]]);
  const naive = (b.get('hv1:bridge')!.seconds - a.get('hv1:bridge')!.seconds);
  t.ok(naive < 0, `the difference of the two whole-run estimates is negative (${naive})`);
  const [bridge] = stageNsPerFrame(a, b, 18000)!;
  // hv1: 1 ms over 1,000 timed frames x 16,000 window frames = 16 ms; hv2: 2 ms / 100 x 2,000 = 40 ms.
  t.equal(bridge.name, 'bridge');
  t.equal(Math.round(bridge.nsPerFrame! * 18000), Math.round((0.016 + 0.04) * 1e9), 'per daemon, then summed');
  t.equal(bridge.framesPerBatch, 18000 / 116);
});

t.test('a window with no timed batch adds 0; a daemon without the timed part falls back to the clamped difference', async (t) => {
  const a = new Map<string, StageTotal>([['hv1:encap', tot(0.001, 10, 10, 1)], ['hv2:encap', { seconds: 0.5, frames: 10, batches: 1, sampledSeconds: null, sampledFrames: null }]]);
  const b = new Map<string, StageTotal>([['hv1:encap', { ...tot(0.001, 10, 20, 2), seconds: 0.002 }], ['hv2:encap', { seconds: 0.4, frames: 20, batches: 2, sampledSeconds: null, sampledFrames: null }]]);
  const [encap] = stageNsPerFrame(a, b, 10)!;
  t.equal(encap.nsPerFrame, 0, 'no negative time: nothing timed in hv1\'s window, hv2\'s estimate went down and is clamped');
  t.equal(stageNsPerFrame(null, b, 10), undefined, 'no daemons, no stage table');
});

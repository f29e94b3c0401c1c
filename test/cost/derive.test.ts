import t from 'tap';
import { framesPerSecondAtLineRate, cpuNsPerFrame, coresInUse, coresPer10G, freedShare, WIRE_OVERHEAD_BYTES } from '../../src/cost/derive.js';

t.test('line rate includes 20 B preamble + IFG per frame', async (t) => {
  t.equal(WIRE_OVERHEAD_BYTES, 20);
  // Textbook figures: 14,880,952 pps for 64 B and 812,743 pps for 1518 B at 10 Gb/s.
  t.equal(Math.floor(framesPerSecondAtLineRate(10e9, 64)), 14880952);
  t.equal(Math.floor(framesPerSecondAtLineRate(10e9, 1518)), 812743);
  t.equal(Math.floor(framesPerSecondAtLineRate(10e9, 1400)), 880281);
  t.throws(() => framesPerSecondAtLineRate(10e9, 0), RangeError);
});

t.test('per-frame and per-core figures on exact numbers', async (t) => {
  t.equal(cpuNsPerFrame(0.5, 1e6), 500);
  t.equal(cpuNsPerFrame(0.5, 0), null, 'no frames: undefined, not 0 or Infinity');
  t.equal(coresInUse(3, 2), 1.5);
  t.equal(coresInUse(3, 0), null);
  // 100 ns/frame * 14,880,952.38 frames/s = 1.488 cores
  t.ok(Math.abs(coresPer10G(100, 64)! - 1.488095238095238) < 1e-12);
  // 1000 ns/frame at 1400 B: 1e-6 * 10e9 / 11360 = 0.880281690...
  t.ok(Math.abs(coresPer10G(1000, 1400)! - 0.8802816901408451) < 1e-12);
  t.equal(coresPer10G(null, 64), null);
});

t.test('freed share is bounded in [-1, 1] and defined when A is 0', async (t) => {
  t.equal(freedShare(100, 25), 0.75);
  t.equal(freedShare(25, 100), -0.75);
  t.equal(freedShare(10, 0), 1);
  t.equal(freedShare(0, 10), -1);
  t.equal(freedShare(0, 0), 0);
  t.equal(freedShare(7, 7), 0);
  t.equal(freedShare(null, 7), null);
  t.throws(() => freedShare(-1, 2), RangeError);
  t.throws(() => freedShare(Infinity, 2), RangeError);
  for (const [a, b] of [[1e-9, 1e9], [1e9, 1e-9], [3, 5]]) {
    const f = freedShare(a, b)!;
    t.ok(f >= -1 && f <= 1, `freedShare(${a}, ${b}) = ${f}`);
  }
});

/**
 * The latency benchmark's measurements, all taken with stock tools inside the
 * VM namespaces (the datapath under test never runs inside them):
 *  - RTT: iputils `ping -i 0.01`, one RTT per reply line (`time=… ms`); and
 *    back to back, `ping -A` (the next echo leaves as soon as a reply is in, so
 *    no core sits idle between echoes);
 *  - background load: an iperf3 UDP stream at a fixed packet rate (small
 *    datagrams, iperf3's own pacing), its achieved rate and loss reported back;
 *  - throughput: one iperf3 TCP stream, the receiver's bits/s.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export interface Percentiles { n: number; lost: number; p50: number; p90: number; p99: number; max: number }

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k];
}

export function summarize(rttUs: number[], sent: number): Percentiles {
  const s = [...rttUs].sort((a, b) => a - b);
  return { n: s.length, lost: sent - s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN };
}

/**
 * `count` echoes from namespace `ns` to `dst`, one every `intervalS`, or
 * back to back (`'adaptive'`: ping -A); RTTs in microseconds.
 */
export async function ping(ns: string, dst: string, count: number, intervalS: number | 'adaptive' = 0.01): Promise<number[]> {
  const pace = intervalS === 'adaptive' ? ['-A'] : ['-i', String(intervalS)];
  const out = await run('ip', ['netns', 'exec', ns, 'ping', '-n', ...pace, '-c', String(count), '-W', '1', dst], count * (intervalS === 'adaptive' ? 0.001 : intervalS) * 1000 + 30_000)
    .catch((e: Error) => e.message); // ping exits 1 when replies were lost: the lines still count
  const rtt: number[] = [];
  for (const m of out.matchAll(/time=([\d.]+) ms/g)) rtt.push(Number(m[1]) * 1000);
  return rtt;
}

/** An iperf3 server in `ns` for one test (-1), started and given time to listen. */
async function iperfServer(ns: string, port: number): Promise<ChildProcess> {
  const srv = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' });
  await sleep(300);
  if (srv.exitCode !== null) throw new Error(`iperf3 server in ${ns} exited (${srv.exitCode})`);
  return srv;
}

export interface LoadResult { pps: number; lossPct: number }

/**
 * Background UDP: `pps` datagrams of `payload` bytes per second from `fromNs` to
 * `dst` for `seconds`. Resolves once the stream has started, with `done`: what
 * iperf3 measured when it ends (sender rate, receiver loss). (A bare promise of
 * a promise would be flattened, and waiting for the start would wait for the end.)
 */
export async function startUdpLoad(fromNs: string, toNs: string, dst: string, pps: number, seconds: number, port = 5202, payload = 64): Promise<{ done: Promise<LoadResult> }> {
  const srv = await iperfServer(toNs, port);
  const bits = pps * payload * 8;
  const done = run('ip', ['netns', 'exec', fromNs, 'iperf3', '-c', dst, '-p', String(port), '-u', '-l', String(payload), '-b', String(bits),
    '--pacing-timer', '200', '-t', String(seconds), '-J'], (seconds + 20) * 1000);
  return {
    done: done.then((out) => {
      const j = JSON.parse(out) as { end: { sum: { packets: number; seconds: number; lost_percent: number } } };
      return { pps: j.end.sum.packets / j.end.sum.seconds, lossPct: j.end.sum.lost_percent };
    }).finally(() => srv.kill('SIGKILL')),
  };
}

/** One TCP stream for `seconds`; the receiver's rate in bits/s. */
export async function tcpThroughput(fromNs: string, toNs: string, dst: string, seconds: number, port = 5201): Promise<number> {
  const srv = await iperfServer(toNs, port);
  try {
    const out = await run('ip', ['netns', 'exec', fromNs, 'iperf3', '-c', dst, '-p', String(port), '-t', String(seconds), '-J'], (seconds + 20) * 1000);
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second;
  } finally {
    srv.kill('SIGKILL');
  }
}

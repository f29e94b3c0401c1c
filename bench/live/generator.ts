/**
 * A fast Ethernet frame generator for live benchmarks: a child process inside a
 * network namespace (`ip netns exec NS node generator-child.js`) sends one fixed
 * frame shape through an AF_PACKET socket with sendmmsg bursts (qdisc bypass,
 * 4 MiB send buffer), at full speed or paced to `rate` frames/s by sleeping
 * between bursts. One frame = dst MAC, src MAC, ethertype, zero padding to
 * `size` bytes (no FCS: 60 is a minimum-size 64-byte frame on the wire).
 *
 *   const g = startGenerator({ netns, interface: 'eth0', size: 60, seconds: 2, rate: 0 });
 *   const r = await g.done;   // { sent, seconds, rate, cpuSeconds }
 *
 * `sent` counts frames the kernel accepted (txBurst), not frames delivered.
 * Reusable by other benchmarks (vtepd cost); needs root and the native addon.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface GeneratorOptions {
  netns: string;
  interface: string;
  /** Frame length in bytes without FCS (14..2048). */
  size: number;
  /** Stop after this many seconds (0: only `count` stops it). Default 2. */
  seconds?: number;
  /** Stop after this many frames (0: no limit). Default 0. */
  count?: number;
  /** Frames per second; 0 = as fast as possible. Default 0. */
  rate?: number;
  /** Default 02:00:00:00:00:02 and 02:00:00:00:00:01. */
  dstMac?: string;
  srcMac?: string;
  /** Default 0x88b5 (IEEE local experimental: nothing else on the link uses it). */
  etherType?: number;
  /** Frames per sendmmsg call (1..1024). Default 256. */
  burst?: number;
}

export interface GeneratorResult {
  /** Frames accepted by the kernel. */
  sent: number;
  /** Sending time, from the first burst to the last. */
  seconds: number;
  /** sent / seconds. */
  rate: number;
  /** The sender process's CPU time (user + system). */
  cpuSeconds: number;
}

export interface Generator {
  child: ChildProcess;
  done: Promise<GeneratorResult>;
  /** Kill the sender (its result is then lost: `done` rejects). */
  stop(): void;
}

function childScript(): string {
  const p = fileURLToPath(new URL('./generator-child.js', import.meta.url));
  return existsSync(p) ? p : p.replace(/\/bench\/live\//, '/dist/bench/live/');
}

function macBytes(m: string): number[] {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(m)) throw new Error(`bad MAC "${m}"`);
  return m.split(':').map((x) => parseInt(x, 16));
}

export function startGenerator(o: GeneratorOptions): Generator {
  if (!Number.isInteger(o.size) || o.size < 14 || o.size > 2048) throw new RangeError(`frame size must be 14..2048, got ${o.size}`);
  const burst = o.burst ?? 256;
  if (!Number.isInteger(burst) || burst < 1 || burst > 1024) throw new RangeError(`burst must be 1..1024, got ${burst}`);
  const spec = {
    interface: o.interface, size: o.size, seconds: o.seconds ?? 2, count: o.count ?? 0, rate: o.rate ?? 0,
    dst: macBytes(o.dstMac ?? '02:00:00:00:00:02'), src: macBytes(o.srcMac ?? '02:00:00:00:00:01'), etherType: o.etherType ?? 0x88b5, burst,
  };
  if (spec.seconds <= 0 && spec.count <= 0) throw new RangeError('give seconds or count, or the generator never stops');
  const child = spawn('ip', ['netns', 'exec', o.netns, process.execPath, childScript(), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<GeneratorResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) {
        try { resolve(JSON.parse(out.trim()) as GeneratorResult); return; } catch { /* fall through */ }
      }
      reject(new Error(`generator in ${o.netns} failed (${signal ?? code}): ${err.trim().split('\n').slice(-3).join(' ') || out.trim()}`));
    });
  });
  return { child, done, stop: () => { if (child.exitCode === null) child.kill('SIGKILL'); } };
}

/** Start and wait for the result. */
export function runGenerator(o: GeneratorOptions): Promise<GeneratorResult> {
  return startGenerator(o).done;
}

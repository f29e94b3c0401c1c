/**
 * An in-kernel frame generator for live benchmarks: BPF_PROG_RUN of an XDP
 * program with BPF_F_TEST_XDP_LIVE_FRAMES (Linux >= 5.18; the facility behind
 * xdp-trafficgen) transmits one template frame out of a veth at about 6-9 M
 * frames/s from one core. Unlike a socket sender, it carries nothing of the
 * receiving side's datapath: the frames land in the peer's NAPI queue (the peer
 * needs an XDP program or GRO on) and are processed wherever that NAPI runs.
 *
 *   const r = await runXdpGenerator({ netns, interface: 'gen0', frame, seconds: 2, cpu: 0 });
 *   // { sent, seconds, rate, cpuSeconds }
 *
 * `sent` counts frames generated and handed to the interface; frames the peer's
 * queue refuses are the receiver's drops. Needs root and the native addon with
 * native-bindings/build/bpf/vtepd_trafgen.bpf.o (npm run build:native).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bpfObjectPath } from '../../src/native/af-xdp-native.js';

/**
 * Frames per BPF_PROG_RUN batch (the kernel's maximum; its default is 64). Each
 * batch ends in a flush that wakes the peer's NAPI: at 64 the generator, which
 * shares its core with bench:live's sink, offered the xdp plan only 3.2-3.7 M
 * frames/s and capped it (a lower bound); at 256 it offers 9-15 M frames/s. The
 * peer's NAPI still polls at most 64 frames at a time, as under a NIC at line rate.
 */
export const GENERATOR_BATCH = 256;

export interface XdpGeneratorOptions {
  netns: string;
  interface: string;
  frame: Uint8Array;
  seconds: number;
  /** The CPU the generator runs on (taskset); the device under test gets the others. */
  cpu: number;
}

export interface XdpGeneratorResult {
  sent: number;
  seconds: number;
  rate: number;
  cpuSeconds: number;
}

function childScript(): string {
  const p = fileURLToPath(new URL('./xdp-generator-child.js', import.meta.url));
  return existsSync(p) ? p : p.replace(/\/bench\/live\//, '/dist/bench/live/');
}

/** vtepd_trafgen.bpf.o, the generator's program. */
export function trafgenObjectPath(): string {
  return bpfObjectPath('vtepd_trafgen.bpf.o');
}

export function runXdpGenerator(o: XdpGeneratorOptions): Promise<XdpGeneratorResult> {
  const object = trafgenObjectPath();
  if (!existsSync(object)) return Promise.reject(new Error(`${object} is missing: build it with npm run build:native (needs clang, bpftool, libbpf-dev)`));
  const spec = { object, interface: o.interface, frameHex: Buffer.from(o.frame).toString('hex'), seconds: o.seconds, batchSize: GENERATOR_BATCH };
  const child = spawn('ip', ['netns', 'exec', o.netns, 'taskset', '-c', String(o.cpu), process.execPath, childScript(), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) {
        try {
          const r = JSON.parse(out.trim()) as Omit<XdpGeneratorResult, 'rate'>;
          resolve({ ...r, rate: r.sent / r.seconds });
          return;
        } catch { /* fall through */ }
      }
      reject(new Error(`XDP generator in ${o.netns} failed (${signal ?? code}): ${err.trim().split('\n').slice(-3).join(' ') || out.trim()}`));
    });
  });
}

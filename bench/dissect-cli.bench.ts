/**
 * `vtepd dissect` (JSON and text) against `tcpdump -nn -e` on the same file,
 * in one run: the whole command each time, start-up included, as a user types it.
 *
 * The file: 300,000 frames, the tunnelled templates of src/dissect/templates.ts
 * (VXLAN over IPv4 and IPv6, GENEVE with options, NVGRE, VXLAN-in-GENEVE-in-VXLAN)
 * repeated, classic pcap with nanosecond stamps, written to os.tmpdir() (not timed).
 * Each command runs RUNS times, interleaved (vtepd json, vtepd text, tcpdump, ...),
 * stdout to /dev/null, timed by bash's `time` (wall, user, system of the command).
 * Ratios are tcpdump / vtepd on the median wall time; targets: json >= 2x, text >= 3x.
 * tshark -T ek is left out: it takes ~2 minutes on this file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './run.js';
import { PcapWriter } from '../src/capture/index.js';
import { sampleFrames } from '../src/dissect/templates.js';

const FRAMES = Number(process.env.VTEPD_BENCH_FRAMES ?? 300_000);
const RUNS = 3;
const TUNNELLED = new Set(['vxlan4', 'vxlan6', 'geneve-opts', 'nvgre', 'nested']);
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');

function writeFile(path: string): void {
  const samples = sampleFrames().filter((s) => TUNNELLED.has(s.name));
  const w = new PcapWriter(path);
  for (let i = 0; i < FRAMES; i++) {
    const f = samples[i % samples.length].bytes;
    w.write(f, 0, f.length, f.length, 1_700_000_000 + (i >>> 10), (i & 1023) * 977_000);
  }
  w.close();
}

interface Timing { wall: number; cpu: number }

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function timeCmd(argv: string[]): Timing {
  const script = `TIMEFORMAT='%R %U %S'; time ( ${argv.map(q).join(' ')} > /dev/null 2>/dev/null )`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wall, cpu: user + sys };
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];

export default async function (): Promise<BenchFigure[]> {
  const path = join(tmpdir(), `vtepd-dissect-cli-${process.pid}.pcap`);
  writeFile(path);
  const node = process.execPath;
  const cmds: Record<string, string[]> = {
    'vtepd dissect --json': [node, MAIN, 'dissect', '--json', path],
    'vtepd dissect': [node, MAIN, 'dissect', path],
    'tcpdump -nn -e': ['tcpdump', '-nn', '-e', '-r', path],
    'vtepd --version (start-up)': [node, MAIN, '--version'],
  };
  const times: Record<string, Timing[]> = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  try {
    const lines = (argv: string[]): number => execFileSync(argv[0], argv.slice(1), { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').length - 1;
    const counts = Object.entries(cmds).slice(0, 3).map(([k, a]) => `${k}: ${lines(a)} lines`);
    console.log(`file: ${FRAMES} tunnelled frames, ${(statSync(path).size / 1e6).toFixed(1)} MB classic pcap (ns), ${path}; ${counts.join(', ')}`);
    console.log(`method: each command ${RUNS} times, interleaved, stdout to /dev/null, bash \`time\` (wall; CPU = user + system); node ${process.version}; tcpdump ${execFileSync('tcpdump', ['--version']).toString().split('\n')[0]}`);
    for (let run = 0; run < RUNS; run++) {
      const row: string[] = [];
      for (const [k, a] of Object.entries(cmds)) {
        const t = timeCmd(a);
        times[k].push(t);
        row.push(`${k} ${t.wall.toFixed(2)} s (cpu ${t.cpu.toFixed(2)})`);
      }
      console.log(`run ${run + 1}: ${row.join(', ')}`);
    }
  } finally {
    rmSync(path, { force: true });
  }
  const wall = (k: string): number => median(times[k].map((t) => t.wall));
  const cpu = (k: string): number => median(times[k].map((t) => t.cpu));
  const td = wall('tcpdump -nn -e');
  const rj = td / wall('vtepd dissect --json');
  const rt = td / wall('vtepd dissect');
  for (const k of Object.keys(cmds)) console.log(`${k.padEnd(28)} median wall ${wall(k).toFixed(3)} s, cpu ${cpu(k).toFixed(3)} s${k.startsWith('vtepd dissect') || k.startsWith('tcpdump') ? `, ${(FRAMES / wall(k) / 1e6).toFixed(2)} M frames/s` : ''}`);
  console.log(`tcpdump / vtepd --json: ${rj.toFixed(2)}x (target >= 2x); tcpdump / vtepd text: ${rt.toFixed(2)}x (target >= 3x)`);
  // What the dissect itself costs: the whole command minus the CLI's start-up (node + vtepd's module loading).
  const up = wall('vtepd --version (start-up)');
  console.log(`net of vtepd's start-up (${up.toFixed(2)} s): json ${(wall('vtepd dissect --json') - up).toFixed(2)} s, text ${(wall('vtepd dissect') - up).toFixed(2)} s; tcpdump / net: json ${(td / (wall('vtepd dissect --json') - up)).toFixed(2)}x, text ${(td / (wall('vtepd dissect') - up)).toFixed(2)}x`);
  console.log(`host load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (${os.cpus().length} CPUs)`);
  return [
    { name: 'dissect --json wall s (median)', value: +wall('vtepd dissect --json').toFixed(3), unit: 's' },
    { name: 'dissect text wall s (median)', value: +wall('vtepd dissect').toFixed(3), unit: 's' },
    { name: 'tcpdump -nn -e wall s (median)', value: +td.toFixed(3), unit: 's' },
    { name: 'ratio tcpdump / dissect --json', value: +rj.toFixed(2), unit: 'x', note: 'target >= 2' },
    { name: 'ratio tcpdump / dissect text', value: +rt.toFixed(2), unit: 'x', note: 'target >= 3' },
  ];
}

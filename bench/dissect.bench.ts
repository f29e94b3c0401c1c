/**
 * dissect: frames/s of reading a classic pcap AND walking every header of every
 * frame (no printing), against `pcap-parser` merely reading the same file.
 *
 * The file (1,000,000 frames, mixed tunnels: VXLAN over IPv4 and IPv6, GENEVE
 * with options, NVGRE, VLAN, QinQ, plain, VXLAN-in-GENEVE-in-VXLAN) is written
 * to os.tmpdir() by repeating src/dissect/templates.ts with the PcapWriter; not
 * timed. Each measurement runs 3 times; best and median are printed. The walk
 * is also timed over the same frames held in memory, to show which part of
 * "read + parse" is the reader's.
 *
 * What "walk" does (src/dissect/walk.ts): every header of every frame, nested
 * tunnels included, is bounds-checked and decoded field by field into the
 * codec states (MACs and IPv4 addresses as numbers, GENEVE options into their
 * arrays), and the layer stack with offsets and bounds is recorded. Not timed:
 * what only the formatters do (IPv4 header checksum verification, turning
 * fields into text), since nothing is printed.
 */
import { createRequire } from 'node:module';
import { rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchFigure } from './run.js';
import { readAllRecords } from './support.js';
import { PcapWriter, openCapture } from '../src/capture/index.js';
import { WalkState, walkFrame } from '../src/dissect/walk.js';
import { sampleFrames } from '../src/dissect/templates.js';

const FRAMES = 1_000_000;
const RUNS = 3;

interface PcapParserModule {
  parse(path: string): NodeJS.EventEmitter;
}

function writeFile(path: string): number {
  const samples = sampleFrames();
  const w = new PcapWriter(path) // microsecond magic: pcap-parser knows no other;
  for (let i = 0; i < FRAMES; i++) {
    const f = samples[i % samples.length].bytes;
    w.write(f, 0, f.length, f.length, 1_700_000_000 + (i >>> 10), (i & 1023) * 1000);
  }
  w.close();
  return samples.length;
}

/** Read + full walk; returns [frames, layers] so the work cannot be optimised away. */
function readAndWalk(path: string, st: WalkState): [number, number] {
  const r = openCapture(path); // default 1 MiB chunk, as `vtepd dissect` reads
  let n = 0;
  let layers = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    layers += walkFrame(rec.data, rec.offset, rec.caplen, st);
    n++;
  }
  r.close();
  return [n, layers];
}

function readOnly(path: string): number {
  return readAllRecords(path).records;
}

function pcapParserRead(mod: PcapParserModule, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const p = mod.parse(path);
    p.on('packet', () => { n++; });
    p.on('error', reject);
    p.on('end', () => resolve(n));
  });
}

/** The walk alone, over the sample frames packed in one buffer (no reader). */
function walkOnly(st: WalkState): number {
  const samples = sampleFrames();
  const total = samples.reduce((a, s) => a + s.bytes.length, 0);
  const buf = new Uint8Array(total);
  const offs: number[] = [];
  const lens: number[] = [];
  let p = 0;
  for (const s of samples) { buf.set(s.bytes, p); offs.push(p); lens.push(s.bytes.length); p += s.bytes.length; }
  const o = Int32Array.from(offs);
  const l = Int32Array.from(lens);
  let layers = 0;
  const k = samples.length;
  // A wrapping index rather than i % k: an integer division per frame is not walk work.
  for (let i = 0, j = 0; i < FRAMES; i++) {
    layers += walkFrame(buf, o[j], l[j], st);
    if (++j === k) j = 0;
  }
  return layers;
}

// Wall time AND process CPU time (user+system, all threads): on a shared, loaded
// host the CPU-time rate shows the code's cost, the wall rate also the scheduler's share.
const cpuSec = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function timeIt<T>(f: () => T): [number, T, number] {
  const c0 = cpuSec();
  const t0 = process.hrtime.bigint();
  const v = f();
  return [Number(process.hrtime.bigint() - t0) / 1e9, v, cpuSec() - c0];
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[number, T, number]> {
  const c0 = cpuSec();
  const t0 = process.hrtime.bigint();
  const v = await f();
  return [Number(process.hrtime.bigint() - t0) / 1e9, v, cpuSec() - c0];
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1];
const fmt = (fps: number): string => `${(fps / 1e6).toFixed(2)} M frames/s`;

export default async function (): Promise<BenchFigure[]> {
  const path = join(tmpdir(), `vtepd-dissect-bench-${process.pid}.pcap`);
  const kinds = writeFile(path);
  const size = statSync(path).size;
  const require = createRequire(import.meta.url);
  const pp = require('pcap-parser') as PcapParserModule;
  const st = new WalkState();
  console.log(`file: ${FRAMES} frames (${kinds} templates repeated), ${(size / 1e6).toFixed(1)} MB, classic pcap (us), ${path}`);
  console.log(`method: single thread, one process, ${RUNS} runs each, wall time from hrtime and CPU time from process.cpuUsage; reader chunk = the default 1 MiB (as vtepd dissect reads; it measured faster than 4 MiB here); no output`);
  console.log('walk = decode every field of every header (nested tunnels, GENEVE options) into the codec states + record the layer stack; IPv4 checksum verification and text formatting are the formatters\' and not timed');

  const ours: number[] = [];
  const readers: number[] = [];
  const walks: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const walksCpu: number[] = [];
  const theirsCpu: number[] = [];
  try {
    walkOnly(st); // warm up the walker's JIT before any timing
    for (let run = 0; run < RUNS; run++) {
      const [t1, [n1, layers], c1] = timeIt(() => readAndWalk(path, st));
      oursCpu.push(FRAMES / c1);
      if (n1 !== FRAMES) throw new Error(`read ${n1} frames, wrote ${FRAMES}`);
      ours.push(FRAMES / t1);
      const [t2, n2] = timeIt(() => readOnly(path));
      if (n2 !== FRAMES) throw new Error(`read ${n2} frames`);
      readers.push(FRAMES / t2);
      const [t3, , c3] = timeIt(() => walkOnly(st));
      walks.push(FRAMES / t3);
      walksCpu.push(FRAMES / c3);
      const [t4, n4, c4] = await timeAsync(() => pcapParserRead(pp, path));
      theirsCpu.push(FRAMES / c4);
      if (n4 !== FRAMES) throw new Error(`pcap-parser read ${n4} frames`);
      theirs.push(FRAMES / t4);
      console.log(`run ${run + 1}: read+walk ${fmt(ours[run])} (${(layers / FRAMES).toFixed(2)} layers/frame), read only ${fmt(readers[run])}, walk only ${fmt(walks[run])}, pcap-parser ${fmt(theirs[run])}; per CPU second: read+walk ${fmt(oursCpu[run])}, walk only ${fmt(walksCpu[run])}, pcap-parser ${fmt(theirsCpu[run])}`);
    }
  } finally {
    rmSync(path, { force: true });
  }
  const best = Math.max(...ours), med = median(ours);
  const ppBest = Math.max(...theirs), ppMed = median(theirs);
  console.log(`read + full walk:   best ${fmt(best)}, median ${fmt(med)}`);
  console.log(`reader alone:       best ${fmt(Math.max(...readers))}, median ${fmt(median(readers))}`);
  console.log(`walk alone (memory): best ${fmt(Math.max(...walks))}, median ${fmt(median(walks))}`);
  console.log(`pcap-parser read:   best ${fmt(ppBest)}, median ${fmt(ppMed)}`);
  console.log(`ratio (median/median): ${(med / ppMed).toFixed(1)}x  (targets: >= 5x pcap-parser, >= 5 M frames/s)`);
  console.log(`per CPU second (median): walk only ${fmt(median(walksCpu))}, read+walk ${fmt(median(oursCpu))}, pcap-parser ${fmt(median(theirsCpu))}, ratio ${(median(oursCpu) / median(theirsCpu)).toFixed(1)}x`);
  console.log(`host load average at the end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (${os.cpus().length} CPUs): wall rates above are shared-host figures when it exceeds the CPU count`);
  return [
    { name: 'read+walk frames/s (median)', value: Math.round(med), unit: 'frames/s', note: `best ${Math.round(best)}` },
    { name: 'reader only frames/s (median)', value: Math.round(median(readers)), unit: 'frames/s' },
    { name: 'walk only frames/s (median)', value: Math.round(median(walks)), unit: 'frames/s' },
    { name: 'pcap-parser read frames/s (median)', value: Math.round(ppMed), unit: 'frames/s', note: `best ${Math.round(ppBest)}` },
    { name: 'ratio read+walk / pcap-parser', value: +(med / ppMed).toFixed(2), unit: 'x' },
    { name: 'walk only frames per CPU second (median)', value: Math.round(median(walksCpu)), unit: 'frames/s' },
    { name: 'read+walk frames per CPU second (median)', value: Math.round(median(oursCpu)), unit: 'frames/s' },
    { name: 'pcap-parser frames per CPU second (median)', value: Math.round(median(theirsCpu)), unit: 'frames/s' },
  ];
}

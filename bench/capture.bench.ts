/**
 * capture: records/s of the streaming reader alone (next() and readBatch()),
 * classic pcap and pcapng, 1,000,000 frames each.
 *
 * The files are written to os.tmpdir() (not timed) by repeating the frames of
 * fixtures/*.pcap (60-234 B VXLAN/GENEVE/NVGRE/GRE/VLAN frames): the pcap with
 * PcapWriter, the pcapng with a minimal EPB writer below (two interfaces, µs
 * and ns). Each figure is the best of 3 runs on one core, default 1 MiB chunk;
 * the loop touches caplen so the work cannot be dropped. Also printed: records
 * per CPU second of this process (process.cpuUsage), which other load on a
 * shared host does not dilute.
 */
import { closeSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './run.js';
import { readAllRecords } from './support.js';
import { PcapWriter, openCapture } from '../src/capture/index.js';
import { PacketBatch } from '../src/batch/packet-batch.js';

const FRAMES = 1_000_000;
const RUNS = 3;

function sampleFrames(): Uint8Array[] {
  const dir = fileURLToPath(new URL('../../fixtures/', import.meta.url));
  const out: Uint8Array[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.pcap')).sort()) {
    const r = openCapture(join(dir, f));
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      if (rec.caplen === rec.len) out.push(rec.data.slice(rec.offset, rec.offset + rec.caplen));
    }
    r.close();
  }
  return out;
}

function writePcap(path: string, frames: Uint8Array[]): void {
  const w = new PcapWriter(path, { nanos: true });
  for (let i = 0; i < FRAMES; i++) {
    const f = frames[i % frames.length];
    w.write(f, 0, f.length, f.length, 1_700_000_000 + (i >>> 10), (i & 1023) * 1000);
  }
  w.close();
}

function writePcapng(path: string, frames: Uint8Array[]): void {
  const fd = openSync(path, 'w');
  const buf = new Uint8Array(1 << 20);
  const v = new DataView(buf.buffer);
  let p = 0;
  const flush = (): void => {
    writeSync(fd, buf, 0, p);
    p = 0;
  };
  const block = (type: number, bodyLen: number): number => {
    const total = 12 + bodyLen;
    v.setUint32(p, type, true);
    v.setUint32(p + 4, total, true);
    v.setUint32(p + total - 4, total, true);
    const body = p + 8;
    p += total;
    return body;
  };
  let b = block(0x0a0d0d0a, 16);
  v.setUint32(b, 0x1a2b3c4d, true);
  v.setUint16(b + 4, 1, true);
  v.setUint16(b + 6, 0, true);
  v.setInt32(b + 8, -1, true);
  v.setInt32(b + 12, -1, true);
  for (const tsresol of [6, 9]) {
    b = block(1, 8 + 12);
    v.setUint32(b, 1, true);
    v.setUint32(b + 4, 0, true);
    v.setUint32(b + 8, (1 << 16) | 9, true); // if_tsresol: code 9, length 1 (little-endian u16 pair)
    v.setUint32(b + 12, tsresol, true);
    v.setUint32(b + 16, 0, true); // opt_endofopt
  }
  for (let i = 0; i < FRAMES; i++) {
    const f = frames[i % frames.length];
    if (p + 64 + f.length > buf.length) flush();
    const ifc = i & 1;
    const ticks = (1_700_000_000 + (i >>> 10)) * (ifc ? 1e9 : 1e6) + (i & 1023);
    b = block(6, 20 + ((f.length + 3) & ~3));
    v.setUint32(b, ifc, true);
    v.setUint32(b + 4, Math.floor(ticks / 4294967296), true);
    v.setUint32(b + 8, ticks % 4294967296, true);
    v.setUint32(b + 12, f.length, true);
    v.setUint32(b + 16, f.length, true);
    buf.set(f, b + 20);
    buf.fill(0, b + 20 + f.length, b + 20 + ((f.length + 3) & ~3));
  }
  flush();
  closeSync(fd);
}

/** Returns [records/s by wall clock, records/s by this process's CPU time (immune to other load)]. */
function timeNext(path: string): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { records: n, bytes } = readAllRecords(path);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (n !== FRAMES || bytes === 0) throw new Error(`read ${n} records`);
  return [n / s, n / ((c.user + c.system) / 1e6)];
}

function timeBatch(path: string): [number, number] {
  const batch = new PacketBatch({ capacity: 256 });
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = openCapture(path);
  let n = 0;
  for (let k = r.readBatch(batch); k > 0; k = r.readBatch(batch)) {
    n += k;
    batch.clear();
  }
  r.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (n !== FRAMES) throw new Error(`read ${n} records`);
  return [n / s, n / ((c.user + c.system) / 1e6)];
}

function best(f: () => [number, number]): [number, number] {
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < RUNS; i++) {
    const [w, c] = f();
    wall = Math.max(wall, w);
    cpu = Math.max(cpu, c);
  }
  return [wall, cpu];
}

export default async function capture(): Promise<BenchFigure[]> {
  const frames = sampleFrames();
  const pcap = join(tmpdir(), `vtepd-capture-bench-${process.pid}.pcap`);
  const pcapng = join(tmpdir(), `vtepd-capture-bench-${process.pid}.pcapng`);
  try {
    writePcap(pcap, frames);
    writePcapng(pcapng, frames);
    const note = `${FRAMES} frames (${frames.length} fixture frames repeated), best of ${RUNS}, one core, 1 MiB chunk, includes open/close`;
    console.log(`files: ${pcap} (${(statSync(pcap).size / 1e6).toFixed(1)} MB), ${pcapng} (${(statSync(pcapng).size / 1e6).toFixed(1)} MB)`);
    const figs: BenchFigure[] = [];
    const cases: [string, () => [number, number]][] = [
      ['pcap next()', () => timeNext(pcap)],
      ['pcapng next()', () => timeNext(pcapng)],
      ['pcap readBatch(256) incl. copy into slots', () => timeBatch(pcap)],
      ['pcapng readBatch(256) incl. copy into slots', () => timeBatch(pcapng)],
    ];
    for (const [name, f] of cases) {
      const [wall, cpu] = best(f);
      figs.push({ name, value: wall, unit: 'records/s', note }, { name: `${name} per CPU second`, value: cpu, unit: 'records/s', note: `${note}; records / (user+system CPU s)` });
      console.log(`${name.padEnd(44)} ${(wall / 1e6).toFixed(2)} M records/s wall, ${(cpu / 1e6).toFixed(2)} M per CPU second`);
    }
    console.log(`method: ${note}`);
    return figs;
  } finally {
    if (!process.env.KEEP) rmSync(pcap, { force: true });
    if (!process.env.KEEP) rmSync(pcapng, { force: true });
  }
}

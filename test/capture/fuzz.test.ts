/**
 * Truncation at every byte offset and random corruption of good captures: the
 * reader returns a prefix of the good records and then either ends cleanly
 * (cut on a record/block boundary) or throws CaptureFormatError. It never
 * throws anything else and never loops (records are bounded by the file size).
 */
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureFormatError, openCapture } from '../../src/capture/index.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `vtepd-fuzz-${process.pid}-`));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const tmp = join(dir, 'cut');

interface Outcome { recs: string[]; err: unknown }

function readFile(bytes: Uint8Array, opts: { chunkSize?: number; allowAnyLinkType?: boolean } = {}): Outcome {
  writeFileSync(tmp, bytes);
  const recs: string[] = [];
  try {
    const r = openCapture(tmp, opts);
    try {
      for (let rec = r.next(); rec !== null; rec = r.next()) {
        recs.push(`${rec.fileOffset}:${rec.caplen}:${rec.len}:${rec.tsSec}:${rec.tsNsec}`);
        // Every record consumes at least 12 file bytes: more records than that is a loop.
        if (recs.length > bytes.length / 12 + 1) throw new Error('reader is looping');
      }
    } finally {
      r.close();
    }
    return { recs, err: null };
  } catch (err) {
    return { recs, err };
  }
}

/** Block/record boundaries by an independent walk over the container. */
function boundaries(b: Uint8Array): { ends: number[]; packetEnds: number[]; packetStarts: number[] } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ends: number[] = [];
  const packetEnds: number[] = [];
  const packetStarts: number[] = [];
  if (v.getUint32(0, true) === 0x0a0d0d0a) {
    let le = true;
    let idbs = 0;
    for (let o = 0; o < b.length; ) {
      const type = v.getUint32(o, le);
      if (type === 0x0a0d0d0a) { le = v.getUint32(o + 8, true) === 0x1a2b3c4d; idbs = 0; }
      if (type === 1) idbs++;
      if (type === 2 || type === 3 || type === 6) packetStarts.push(o);
      o += v.getUint32(o + 4, le);
      // A file that ends in a section without an interface is an error (as in libpcap), not a clean end.
      if (idbs > 0) ends.push(o);
      if (type === 2 || type === 3 || type === 6) packetEnds.push(o);
    }
  } else {
    const le = v.getUint32(0, true) === 0xa1b2c3d4 || v.getUint32(0, true) === 0xa1b23c4d;
    ends.push(24);
    for (let o = 24; o < b.length; ) {
      packetStarts.push(o);
      o += 16 + v.getUint32(o + 8, le);
      ends.push(o);
      packetEnds.push(o);
    }
  }
  return { ends, packetEnds, packetStarts };
}

for (const f of ['vxlan-nanos.pcap', 'big-endian.pcap', 'interfaces.pcapng', 'sections.pcapng']) {
  t.test(`${f}: cut at every byte offset`, (t) => {
    const good = new Uint8Array(readFileSync(fixtures + f));
    const all = readFile(good);
    t.equal(all.err, null);
    const { ends, packetEnds, packetStarts } = boundaries(good);
    t.same(all.recs.map((r) => Number(r.split(':')[0])), packetStarts, 'walker and reader agree on record offsets');
    let failures = 0;
    for (let cut = 0; cut < good.length; cut++) {
      const got = readFile(good.subarray(0, cut), { chunkSize: cut % 2 ? 4096 : undefined });
      const complete = packetEnds.filter((e) => e <= cut).length;
      const clean = ends.includes(cut);
      const ok = got.recs.length === complete &&
        got.recs.every((r, i) => r === all.recs[i]) &&
        (clean ? got.err === null : got.err instanceof CaptureFormatError);
      if (!ok) {
        failures++;
        if (failures < 5) t.fail(`cut at ${cut}: ${got.recs.length} records (want ${complete}), error ${String(got.err)}`);
      }
    }
    t.equal(failures, 0, `${good.length} cuts`);
    t.end();
  });
}

t.test('random corruption never throws anything but CaptureFormatError', (t) => {
  let seed = 0x5eed;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  const extremes = [0, 1, 11, 12, 13, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 65535, 262145];
  const files = ['vxlan-ipv4.pcap', 'big-endian-nanos.pcap', 'interfaces.pcapng', 'sections.pcapng'];
  let errors = 0;
  let others = 0;
  const runs = 2000;
  for (let i = 0; i < runs; i++) {
    const b = new Uint8Array(readFileSync(fixtures + files[i % files.length]));
    const v = new DataView(b.buffer);
    const edits = 1 + rand(4);
    for (let k = 0; k < edits; k++) {
      if (rand(2) === 0) b[rand(b.length)] = rand(256);
      else v.setUint32(rand(b.length - 3) & ~3, extremes[rand(extremes.length)], rand(2) === 0);
    }
    const got = readFile(b, { chunkSize: rand(2) ? 4096 : undefined, allowAnyLinkType: rand(2) === 0 });
    if (got.err instanceof CaptureFormatError) {
      errors++;
      if (!/at byte offset \d+$/.test(got.err.message) || got.err.offset < 0 || got.err.offset > b.length) others++;
    } else if (got.err !== null) {
      others++;
      if (others < 5) t.fail(`run ${i}: ${String((got.err as Error).stack)}`);
    }
  }
  t.equal(others, 0, 'only CaptureFormatError, with an in-file offset');
  t.ok(errors > runs / 10, `${errors} of ${runs} corrupted files were reported as faulty`);
  t.end();
});

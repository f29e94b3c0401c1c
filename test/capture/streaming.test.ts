/**
 * Streaming: a pipe (FIFO) gives the same records and the same errors as the
 * regular file; unknown pcapng blocks larger than the read buffer are skipped
 * (seeked on files, read and dropped on pipes) and their trailing length checked.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureFormatError, PcapWriter, openCapture } from '../../src/capture/index.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `vtepd-stream-${process.pid}-`));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function drain(path: string, chunkSize?: number): string[] {
  const out: string[] = [];
  try {
    const r = openCapture(path, { chunkSize });
    try {
      for (let rec = r.next(); rec !== null; rec = r.next()) out.push(`${rec.fileOffset} ${rec.caplen} ${rec.len} ${rec.tsSec}.${rec.tsNsec} ${rec.data[rec.offset + rec.caplen - 1]}`);
    } finally {
      r.close();
    }
  } catch (e) {
    out.push(e instanceof CaptureFormatError ? `error: ${e.message}` : `other: ${String(e)}`);
  }
  return out;
}

/** Read `file` through a FIFO fed by `cat`. */
function drainPipe(file: string, chunkSize?: number): string[] {
  const fifo = join(dir, 'fifo');
  rmSync(fifo, { force: true });
  spawnSync('mkfifo', [fifo]);
  const cat = spawn('sh', ['-c', `cat "$0" > "$1"`, file, fifo], { stdio: 'ignore' });
  try {
    return drain(fifo, chunkSize);
  } finally {
    cat.kill();
  }
}

const hasFifo = spawnSync('mkfifo', ['--version']).status === 0;

t.test('a pipe reads like the file, good and bad', { skip: hasFifo ? false : 'no mkfifo' }, (t) => {
  const all = [
    ...readdirSync(fixtures).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => fixtures + f),
    ...readdirSync(fixtures + 'bad').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => fixtures + 'bad/' + f),
  ];
  for (const f of all) t.same(drainPipe(f, 4096), drain(f), f);
  t.end();
});

function pcapngWithBigBlock(trailerDelta: number): Uint8Array {
  const blocks: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array, delta = 0): void => {
    const b = new Uint8Array(12 + body.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setUint32(4, b.length, true);
    b.set(body, 8);
    v.setUint32(b.length - 4, b.length + delta, true);
    blocks.push(b);
  };
  const shb = new Uint8Array(16);
  new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
  new DataView(shb.buffer).setUint16(4, 1, true);
  block(0x0a0d0d0a, shb);
  const idb = new Uint8Array(8);
  idb[0] = 1;
  block(1, idb);
  const epb = (n: number): Uint8Array => {
    const b = new Uint8Array(20 + 64);
    const v = new DataView(b.buffer);
    v.setUint32(4, 0, true);
    v.setUint32(8, n, true);
    v.setUint32(12, 64, true);
    v.setUint32(16, 64, true);
    b.fill(n, 20);
    return b;
  };
  block(6, epb(1));
  // SHB 28 + IDB 20 + EPB 96 bytes: the big block starts at byte 144.
  block(0x80000001, new Uint8Array(20000).fill(0xee), trailerDelta); // bigger than a 4 KiB buffer
  block(6, epb(2));
  const out = new Uint8Array(blocks.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

t.test('an unknown block bigger than the buffer is skipped, file or pipe', (t) => {
  const good = join(dir, 'big-block.pcapng');
  writeFileSync(good, pcapngWithBigBlock(0));
  const want = drain(good);
  t.equal(want.length, 2);
  t.match(want[1], / 64 64 .* 2$/);
  t.same(drain(good, 4096), want, 'seek past it');
  if (hasFifo) t.same(drainPipe(good, 4096), want, 'read and drop it');

  const bad = join(dir, 'big-block-bad.pcapng');
  writeFileSync(bad, pcapngWithBigBlock(4));
  const got = drain(bad, 4096);
  t.equal(got.length, 2);
  t.match(got[1], /^error: block total length mismatch: leading 20012, trailing 20016 at byte offset 144$/);
  if (hasFifo) t.same(drainPipe(bad, 4096), got);

  const cut = join(dir, 'big-block-cut.pcapng');
  writeFileSync(cut, pcapngWithBigBlock(0).subarray(0, 5000));
  t.match(drain(cut, 4096)[1], /^error: unexpected end of file in block of type 0x80000001: needs 20012 bytes, 4856 present \(15156 missing\) at byte offset 144$/);
  if (hasFifo) t.same(drainPipe(cut, 4096), drain(cut, 4096));
  t.end();
});

t.test('a directory is refused with a plain message', (t) => {
  t.throws(() => openCapture(dir), /is a directory, not a capture file/);
  t.end();
});

t.test('a 20 MB file streams through a 1 MiB buffer and one reused record', (t) => {
  const path = join(dir, 'big.pcap');
  const w = new PcapWriter(path, { nanos: true });
  const f = new Uint8Array(1500).map((_, i) => i);
  const n = 13000;
  for (let i = 0; i < n; i++) w.write(f, 0, 1500, 1500, i, i);
  w.close();
  t.ok(statSync(path).size > 19e6);
  const r = openCapture(path);
  const src = (r as unknown as { src: { buf: Uint8Array } }).src;
  const first = r.next();
  let count = first === null ? 0 : 1;
  let maxBuf = src.buf.length;
  let same = true;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    if (rec !== first) same = false;
    if (rec.tsNsec !== count || rec.data[rec.offset + 1499] !== 1499 % 256) same = false;
    count++;
    if (src.buf.length > maxBuf) maxBuf = src.buf.length;
  }
  r.close();
  t.equal(count, n);
  t.ok(same, 'next() returns the same record object, with the right bytes each time');
  t.ok(maxBuf <= 1 << 20, `read buffer stayed at ${maxBuf} bytes`);
  t.end();
});

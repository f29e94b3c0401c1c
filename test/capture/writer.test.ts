/**
 * PcapWriter round trips through vtepd's reader and through tshark, in
 * microseconds and nanoseconds, across many buffer flushes and reader refills.
 */
import t from 'tap';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openCapture, PcapWriter } from '../../src/capture/index.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `vtepd-writer-${process.pid}-`));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const hasTshark = spawnSync('tshark', ['-v']).status === 0;

/** Deterministic frame i: length 14..(14+max), bytes from a small LCG. */
function frame(i: number, max: number): Uint8Array {
  const len = 14 + ((i * 7919) % max);
  const f = new Uint8Array(len);
  let x = i + 1;
  for (let k = 0; k < len; k++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f[k] = x >>> 24;
  }
  return f;
}

function records(path: string, chunkSize?: number): string[] {
  const r = openCapture(path, { chunkSize });
  const out: string[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    out.push(`${rec.len} ${rec.caplen} ${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')} ${Buffer.from(rec.data.subarray(rec.offset, rec.offset + rec.caplen)).toString('base64')}`);
  }
  r.close();
  return out;
}

for (const nanos of [false, true]) {
  t.test(`round trip, ${nanos ? 'nano' : 'micro'}seconds, many flushes and refills`, (t) => {
    const path = join(dir, `rt-${nanos}.pcap`);
    const w = new PcapWriter(path, { nanos, bufferSize: 4096 });
    const want: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const f = frame(i, i === 1500 ? 20000 : 1500); // one 10+ KiB frame makes the reader grow its buffer
      const wire = i % 10 === 0 ? f.length + 100 : f.length;
      const nsec = (i * 123456789) % 1e9;
      w.write(f, 0, f.length, wire, 1700000000 + i, nsec);
      const shown = nanos ? nsec : Math.floor(nsec / 1000) * 1000;
      want.push(`${wire} ${f.length} ${1700000000 + i}.${String(shown).padStart(9, '0')} ${Buffer.from(f).toString('base64')}`);
    }
    w.close();
    t.equal(w.records, 3000);
    t.same(records(path, 4096), want, 'vtepd reader, 4 KiB chunks');
    t.same(records(path), want, 'vtepd reader, default chunks');
    const r = openCapture(path);
    t.equal(r.nanos, nanos);
    r.close();
    if (hasTshark) {
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      t.equal(ts.status, 0, ts.stderr);
      t.same(ts.stdout.split('\n').filter((l) => l !== ''), want.map((l) => l.split(' ').slice(0, 3).join('\t')), 'tshark reads it');
    }
    t.end();
  });
}

t.test('copy a fixture record by record: identical bytes', (t) => {
  for (const f of ['vxlan-ipv4.pcap', 'truncated.pcap', 'big-endian.pcap']) {
    const path = join(dir, `copy-${f}`);
    const r = openCapture(fixtures + f);
    const w = new PcapWriter(path, { snaplen: 65535 });
    for (let rec = r.next(); rec !== null; rec = r.next()) w.write(rec.data, rec.offset, rec.caplen, rec.len, rec.tsSec, rec.tsNsec);
    r.close();
    w.close();
    t.same(records(path), records(fixtures + f), f);
  }
  t.end();
});

t.test('writeBatch writes live packets only; snaplen cuts long frames', (t) => {
  const path = join(dir, 'batch.pcap');
  const b = new PacketBatch({ capacity: 8, headroom: 64, dataRoom: 512 });
  for (let i = 0; i < 6; i++) {
    const f = frame(i, 400);
    b.append(f, 0, f.length, f.length, 10 + i, i * 1000);
  }
  b.drop[1] = 3;
  b.drop[4] = 1;
  const w = new PcapWriter(path, { snaplen: 100 });
  t.equal(w.writeBatch(b), 4);
  w.close();
  const got = records(path);
  t.equal(got.length, 4);
  const keep = [0, 2, 3, 5];
  for (let k = 0; k < 4; k++) {
    const f = frame(keep[k], 400);
    const cap = Math.min(100, f.length);
    t.equal(got[k], `${f.length} ${cap} ${10 + keep[k]}.${String(keep[k] * 1000).padStart(9, '0')} ${Buffer.from(f.subarray(0, cap)).toString('base64')}`);
  }
  t.equal(statSync(path).size, 24 + got.reduce((s, l) => s + 16 + Number(l.split(' ')[1]), 0));
  t.throws(() => w.write(frame(0, 10), 0, 14, 14, 0, 0), /closed/);
  t.end();
});

t.test('a non-blocking pipe that fills up: the writer waits instead of failing with EAGAIN', async (t) => {
  // The parent's end of a child's stdin pipe is non-blocking (libuv sets O_NONBLOCK); the child reads only after 300 ms,
  // so the 64 KiB pipe fills long before and every write beyond it meets EAGAIN until the reader drains it.
  const child = spawn('sh', ['-c', 'sleep 0.3; wc -c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  t.ok(fd > 2, `the pipe's fd (${fd})`);
  let counted = '';
  child.stdout!.on('data', (d: Buffer) => { counted += d.toString(); });
  const w = new PcapWriter('-', { fd });
  const frame = new Uint8Array(1000).fill(7);
  const n = 2000;
  for (let i = 0; i < n; i++) w.write(frame, 0, frame.length, frame.length, i, 0);
  w.close();
  child.stdin!.end();
  await new Promise((r) => child.once('exit', r));
  t.equal(Number(counted.trim()), 24 + n * (16 + 1000), 'the reader got every byte: header and all records');
});

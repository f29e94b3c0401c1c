/**
 * pcap file port: frames transmitted are recorded (checked with tshark), the
 * recording replays byte-identical through receive()/onReadable until the end,
 * `loops` replays again, and a RecordingTap around a port records what it sees.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { PcapFilePort } from '../../src/ports/pcap-file-port.js';
import { RecordingTap } from '../../src/ports/recording-tap.js';
import { fillBatch, testFrame, testSeq } from './fixtures/frames.js';

const N = 700;
const tshark = (file: string, field: string): string[] =>
  execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', field], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n');

t.test('record out, replay in, identical bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-pcapport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.pcap');
  const out = new PcapFilePort({ name: 'rec', writeFile: file, nanos: true });
  const b = new PacketBatch({ capacity: 128 });
  let written = 0;
  for (let first = 0; first < N; first += 128) {
    fillBatch(b, first, Math.min(128, N - first));
    for (let i = 0; i < b.count; i++) { b.tsSec[i] = 1700000000 + first; b.tsNsec[i] = i * 1000 + 7; }
    b.drop[0] = first === 0 ? 1 : 0; // frame 0 is dropped: not recorded
    written += out.transmit(b);
  }
  await out.close();
  t.equal(written, N - 1);
  t.equal(out.counters.txPackets, N - 1);
  const lens = tshark(file, 'frame.len').map(Number);
  t.same(lens, Array.from({ length: N - 1 }, (_, s) => testFrame(s + 1).length), 'tshark reads every recorded frame');
  t.equal(tshark(file, 'frame.time_epoch')[0], '1700000000.000001007', 'nanosecond timestamps kept');

  const replay = new PcapFilePort({ name: 'in', readFile: file, index: 4, loops: 1 });
  t.teardown(() => replay.close());
  const inb = new PacketBatch({ capacity: 50 });
  const seqs: number[] = [];
  let mismatches = 0;
  await new Promise<void>((resolve) => {
    replay.onReadable(() => {
      inb.clear();
      replay.receive(inb);
      for (let i = 0; i < inb.count; i++) {
        const s = testSeq(inb.data, inb.offset[i], inb.length[i]);
        seqs.push(s);
        if (inb.inPort[i] !== 4 || Buffer.compare(Buffer.from(inb.frame(i)), Buffer.from(testFrame(s))) !== 0) mismatches++;
      }
      if (replay.atEnd) resolve();
    });
  });
  t.equal(seqs.length, 2 * (N - 1), 'replayed twice (loops: 1)');
  t.same(seqs.slice(0, N - 1), Array.from({ length: N - 1 }, (_, s) => s + 1), 'in file order');
  t.equal(mismatches, 0, 'byte-identical with the right inPort');
  t.equal(replay.counters.rxPackets, 2 * (N - 1));
});

t.test('recording tap records rx and tx of the port it wraps', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-rectap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'src.pcap');
  const w = new PcapFilePort({ name: 'w', writeFile: src });
  const b = new PacketBatch({ capacity: 64 });
  fillBatch(b, 0, 64);
  w.transmit(b);
  await w.close();
  const inner = new PcapFilePort({ name: 'both', readFile: src, writeFile: join(dir, 'sink.pcap') });
  const tap = new RecordingTap(inner, { rxFile: join(dir, 'rx.pcap'), txFile: join(dir, 'tx.pcap') });
  const r = new PacketBatch({ capacity: 256 });
  t.equal(tap.receive(r), 64);
  r.drop[1] = 1;
  t.equal(tap.transmit(r), 63);
  await tap.close();
  t.same(tshark(join(dir, 'rx.pcap'), 'frame.len'), tshark(src, 'frame.len'), 'rx recording = what was received');
  t.equal(tshark(join(dir, 'tx.pcap'), 'frame.len').length, 63, 'tx recording = alive frames sent');
  t.same(tshark(join(dir, 'sink.pcap'), 'frame.len'), tshark(join(dir, 'tx.pcap'), 'frame.len'), 'and the inner port sent the same');
});

t.test('a missing capture file is a clear error', async (t) => {
  t.throws(() => new PcapFilePort({ name: 'x', readFile: '/nonexistent/x.pcap' }), /ENOENT|no such file/i);
  t.throws(() => new PcapFilePort({ name: 'x' }), /needs readFile and\/or writeFile/);
});

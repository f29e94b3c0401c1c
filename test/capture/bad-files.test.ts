/**
 * Corrupt captures: every good frame first, then ONE CaptureFormatError at the
 * byte offset the generator recorded (fixtures/bad/expected.json); the error is
 * sticky. External corrupt files from joincap/libpcap: a clean error, and the
 * same records before it as tshark.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CaptureFormatError, openCapture, type CaptureReader } from '../../src/capture/index.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';

const bad = fileURLToPath(new URL('../../fixtures/bad/', import.meta.url));
const expected = JSON.parse(readFileSync(bad + 'expected.json', 'utf8')) as Record<string, { good: number; offset: number; message: string }>;
const external = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));
const hasTshark = spawnSync('tshark', ['-v']).status === 0;

/** Records until the end or the first error: [caplens, error]. */
function drain(path: string, opts = {}): { lens: number[]; err: unknown } {
  const lens: number[] = [];
  let r: CaptureReader | null = null;
  try {
    r = openCapture(path, opts);
    for (let rec = r.next(); rec !== null; rec = r.next()) lens.push(rec.caplen);
    return { lens, err: null };
  } catch (err) {
    return { lens, err };
  } finally {
    r?.close();
  }
}

t.test('every bad fixture is listed and every listed one exists', (t) => {
  const onDisk = readdirSync(bad).filter((f) => f !== 'expected.json').sort();
  t.same(Object.keys(expected).sort(), onDisk);
  t.ok(onDisk.length >= 8);
  t.end();
});

for (const [name, want] of Object.entries(expected)) {
  t.test(`bad/${name}`, (t) => {
    const { lens, err } = drain(bad + name);
    t.equal(lens.length, want.good, 'good frames returned before the fault');
    t.type(err, CaptureFormatError);
    const e = err as CaptureFormatError;
    t.equal(e.offset, want.offset, 'fault offset');
    t.match(e.message, want.message);
    t.match(e.message, `at byte offset ${want.offset}`);
    t.end();
  });
}

t.test('the error is sticky and readBatch hands out the good frames first', (t) => {
  const r = openCapture(bad + 'truncated-last-record.pcap');
  const b = new PacketBatch({ capacity: 16 });
  t.equal(r.readBatch(b), 3, 'good frames in the first batch');
  b.clear();
  t.throws(() => r.readBatch(b), CaptureFormatError);
  t.throws(() => r.next(), { offset: expected['truncated-last-record.pcap'].offset });
  r.close();
  t.end();
});

t.test('allowAnyLinkType reads a non-Ethernet capture and reports its link type', (t) => {
  const r = openCapture(bad + 'linktype-linux-sll.pcap', { allowAnyLinkType: true });
  t.equal(r.linkType, 113);
  t.not(r.next(), null);
  t.equal(r.next(), null);
  r.close();
  const ng = openCapture(bad + 'pcapng-linktype-raw.pcapng', { allowAnyLinkType: true });
  t.equal(ng.linkType, 101);
  t.end();
});

t.test('a record header claiming 2 GB never allocates it', (t) => {
  const before = process.memoryUsage().arrayBuffers;
  const { err } = drain(bad + 'record-claims-2gb.pcap', { chunkSize: 4096 });
  t.type(err, CaptureFormatError);
  t.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no big buffer');
  t.end();
});

t.test('external corrupt captures', { skip: existsSync(external) ? false : '../shared/fixtures/external absent' }, (t) => {
  const joincap = external + 'joincap/';
  for (const f of readdirSync(joincap).sort()) {
    const { lens, err } = drain(joincap + f);
    t.ok(err === null || err instanceof CaptureFormatError, `${f}: clean end or CaptureFormatError (${String(err)})`);
    if (hasTshark) {
      const ts = spawnSync('tshark', ['-r', joincap + f, '-T', 'fields', '-e', 'frame.cap_len'], { encoding: 'utf8' });
      const theirs = ts.stdout.split('\n').filter((l) => l !== '').map(Number);
      t.same(lens, theirs, `${f}: same records as tshark before the fault`);
      // tshark's exit status and ours agree on whether the file is damaged
      // (tshark stops silently on bad_first_header's record header that is packet bytes; we name it).
      if (f !== 'bad_first_header.pcap') t.equal(err !== null, ts.status !== 0, `${f}: damaged?`);
    }
  }
  const joinExpect: Record<string, [number, number, string]> = {
    'partial_global_header.pcap': [0, 0, 'short pcap global header'],
    'partial_first_header.pcap': [0, 24, 'unexpected end of file in record header'],
    'unexpected_eof_on_first_packet.pcap': [0, 24, 'unexpected end of file in record of 208 captured bytes'],
    'unexpected_eof_on_second_packet.pcap': [1, 248, 'unexpected end of file'],
    'bad_first_header.pcap': [1, 40, 'garbage record header'],
  };
  for (const [f, [good, offset, msg]] of Object.entries(joinExpect)) {
    const { lens, err } = drain(joincap + f);
    t.equal(lens.length, good, `${f} good frames`);
    t.match(err, { offset, message: msg }, f);
  }
  t.same(drain(joincap + 'no_packets.pcap'), { lens: [], err: null });
  const v1 = drain(external + 'libpcap/pcap-invalid-version-1.pcap');
  t.match(v1.err, { offset: 4, message: 'unsupported pcap version 1.4' });
  const shb = drain(external + 'libpcap/pcapng-truncated-shb.pcapng');
  t.match(shb.err, { offset: 0, message: /unexpected end of file in section header block: needs 28 bytes, 16 present/ });
  t.end();
});

t.test('external pcapng files match tshark', { skip: existsSync(external) && hasTshark ? false : 'external folder or tshark absent' }, (t) => {
  for (const f of ['test001-le.pcapng', 'test001-be.pcapng']) {
    const path = external + 'pcap-parser/' + f;
    const r = openCapture(path);
    const ours: string[] = [];
    for (let rec = r.next(); rec !== null; rec = r.next()) ours.push(`${rec.len}\t${rec.caplen}\t${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')}`);
    r.close();
    const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
    t.same(ours, ts.stdout.split('\n').filter((l) => l !== ''), f);
    t.ok(ours.length > 0);
  }
  t.end();
});

t.test('external good captures (tcpdump, zeek, packetnet) read like tshark', { skip: existsSync(external) && hasTshark ? false : 'external folder or tshark absent' }, (t) => {
  let compared = 0;
  for (const d of ['tcpdump', 'zeek', 'packetnet']) {
    if (!existsSync(external + d)) continue;
    for (const f of readdirSync(external + d).filter((n) => /\.pcap(ng)?$/.test(n)).sort()) {
      const path = `${external}${d}/${f}`;
      const ours: string[] = [];
      let err: unknown = null;
      try {
        const r = openCapture(path, { allowAnyLinkType: true });
        for (let rec = r.next(); rec !== null; rec = r.next()) ours.push(`${rec.len}\t${rec.caplen}\t${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')}`);
        r.close();
      } catch (e) {
        err = e;
      }
      if (f === 'trunc-hdr.pcap') {
        // Its 8-byte record exceeds its snap length of 1: tshark reads it, vtepd calls it a fault.
        t.match(err, { offset: 24, message: 'record of 8 captured bytes is longer than the snap length 1' }, f);
        continue;
      }
      const ts = spawnSync('tshark', ['-r', path, '-T', 'fields', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch'], { encoding: 'utf8' });
      t.equal(err, null, `${d}/${f} reads cleanly`);
      t.same(ours, ts.stdout.split('\n').filter((l) => l !== ''), `${d}/${f}`);
      compared++;
    }
  }
  t.ok(compared >= 10, `${compared} files compared`);
  t.end();
});

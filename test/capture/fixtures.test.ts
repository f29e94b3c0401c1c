/**
 * Every fixture read by vtepd's reader agrees with tshark (lengths, timestamps,
 * MD5 of the captured bytes) and, for microsecond classic pcap, with pcap-parser;
 * frame counts agree with the generator's table in fixtures/README.md.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { openCapture, type CaptureReader } from '../../src/capture/index.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const files = readdirSync(fixtures).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

interface Rec { len: number; caplen: number; ts: string; md5: string; iface: number }

function readAll(r: CaptureReader): Rec[] {
  const out: Rec[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    const md5 = createHash('md5').update(rec.data.subarray(rec.offset, rec.offset + rec.caplen)).digest('hex');
    out.push({ len: rec.len, caplen: rec.caplen, ts: `${rec.tsSec}.${String(rec.tsNsec).padStart(9, '0')}`, md5, iface: rec.interfaceId });
  }
  r.close();
  return out;
}

function tshark(path: string): Rec[] {
  const res = spawnSync('tshark', ['-o', 'frame.generate_md5_hash:TRUE', '-r', path, '-T', 'fields',
    '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.time_epoch', '-e', 'frame.md5_hash', '-e', 'frame.interface_id'],
  { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tshark failed on ${path}: ${res.stderr}`);
  return res.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const [len, caplen, ts, md5, iface] = l.split('\t');
    // SPBs carry no timestamp: tshark prints nothing, the reader gives 0.
    return { len: +len, caplen: +caplen, ts: ts === '' ? '0.000000000' : ts, md5, iface: iface === '' ? 0 : +iface };
  });
}

function readmeCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of readFileSync(fixtures + 'README.md', 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length === 6 && /^`[^`]+\.pcap(ng)?`$/.test(cells[1])) m.set(cells[1].slice(1, -1), Number(cells[3]));
  }
  return m;
}

const hasTshark = spawnSync('tshark', ['-v']).status === 0;

t.test('fixture set is the one the README lists', (t) => {
  const counts = readmeCounts();
  t.same([...counts.keys()].sort(), files);
  t.ok(files.length >= 12, `${files.length} fixtures`);
  t.end();
});

for (const f of files) {
  t.test(`${f}: reader agrees with tshark and the README`, { skip: hasTshark ? false : 'tshark not installed' }, (t) => {
    const ours = readAll(openCapture(fixtures + f));
    t.equal(ours.length, readmeCounts().get(f), 'frame count from fixtures/README.md');
    t.same(ours, tshark(fixtures + f));
    t.end();
  });
}

t.test('format, byte order and resolution are detected', (t) => {
  const cases: [string, string, boolean][] = [
    ['vxlan-ipv4.pcap', 'pcap', false], ['vxlan-nanos.pcap', 'pcap', true], ['big-endian.pcap', 'pcap', false],
    ['big-endian-nanos.pcap', 'pcap', true], ['interfaces.pcapng', 'pcapng', false],
  ];
  for (const [f, format, nanos] of cases) {
    const r = openCapture(fixtures + f);
    t.equal(r.format, format, f);
    t.equal(r.nanos, nanos, f);
    t.equal(r.linkType, 1, f);
    r.close();
  }
  t.end();
});

t.test('pcap-parser reads the same records from microsecond pcaps', async (t) => {
  const require = createRequire(import.meta.url);
  const pcapp = require('pcap-parser') as { parse(p: string): NodeJS.EventEmitter };
  const usFiles = files.filter((f) => f.endsWith('.pcap') && !f.includes('nanos'));
  t.ok(usFiles.length >= 8);
  for (const f of usFiles) {
    const theirs: Rec[] = await new Promise((resolve, reject) => {
      const out: Rec[] = [];
      const p = pcapp.parse(fixtures + f);
      p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) => {
        const h = pk.header;
        out.push({ len: h.originalLength, caplen: h.capturedLength, ts: `${h.timestampSeconds}.${String(h.timestampMicroseconds * 1000).padStart(9, '0')}`, md5: createHash('md5').update(pk.data).digest('hex'), iface: 0 });
      });
      p.on('end', () => resolve(out));
      p.on('error', reject);
    });
    t.same(readAll(openCapture(fixtures + f)), theirs, f);
  }
});

t.test('a small chunk size and readBatch give the same records', (t) => {
  for (const f of files) {
    const want = readAll(openCapture(fixtures + f));
    t.same(readAll(openCapture(fixtures + f, { chunkSize: 4096 })), want, `${f} chunk 4096`);
    const r = openCapture(fixtures + f);
    const b = new PacketBatch({ capacity: 3, headroom: 32, dataRoom: 512 });
    const got: Rec[] = [];
    let n: number;
    while ((n = r.readBatch(b, 7)) > 0) {
      t.equal(n, b.count);
      for (let i = 0; i < b.count; i++) {
        t.equal(b.inPort[i], 7);
        got.push({ len: b.wireLength[i], caplen: b.length[i], ts: `${b.tsSec[i]}.${String(b.tsNsec[i]).padStart(9, '0')}`, md5: createHash('md5').update(b.frame(i)).digest('hex'), iface: want[got.length].iface });
      }
      b.clear();
    }
    t.ok(r.ended, 'ended after the last batch');
    t.equal(r.readBatch(b), 0);
    r.close();
    t.same(got, want, `${f} readBatch`);
    t.equal(r.oversize, 0);
  }
  t.end();
});

t.test('frames larger than a batch slot are counted in oversize, not lost silently', (t) => {
  const r = openCapture(fixtures + 'nested.pcap'); // 232, 134 and 234 bytes
  const b = new PacketBatch({ capacity: 8, headroom: 0, dataRoom: 200 });
  t.equal(r.readBatch(b), 1);
  t.ok(r.ended);
  t.equal(b.length[0], 134);
  t.equal(r.oversize, 2);
  t.equal(r.records, 3);
  t.end();
});

t.test('a full batch returns 0 without being the end', (t) => {
  const r = openCapture(fixtures + 'vxlan-ipv4.pcap');
  const b = new PacketBatch({ capacity: 2 });
  t.equal(r.readBatch(b), 2);
  t.equal(r.readBatch(b), 0);
  t.notOk(r.ended);
  b.clear();
  t.equal(r.readBatch(b), 2);
  b.clear();
  t.equal(r.readBatch(b), 0);
  t.ok(r.ended);
  r.close();
  t.end();
});

/**
 * AF_PACKET port on a veth pair across two namespaces: 1200 frames (60..1514 B,
 * some 802.1Q tagged) sent with one port arrive byte-identical on the other,
 * counted by the ports AND by tcpdump on the receiving veth (independent oracle);
 * our own TX is not read back; kernel drop counters read back as zero.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeVethPair, startTcpdump, stopTcpdump, tcpdumpWrote, until } from './fixtures/netns.js';
import { fillBatch, testFrame, testSeq } from './fixtures/frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built' : false;
const TOTAL = 1200;

t.test('veth: frames sent on one end arrive identical on the other', { skip }, async (t) => {
  const v = makeVethPair(t);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-afp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, name: 'a', index: 1 });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, name: 'b', index: 2, blockTimeoutMs: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  const pcap = join(dir, 'b.pcap');
  const dump = await startTcpdump(v.nsB, v.ifB, pcap, []);
  t.teardown(() => stopTcpdump(dump));

  const seen = new Array<Uint8Array | undefined>(TOTAL);
  let got = 0;
  let wakeups = 0;
  let foreign = 0;
  let badPort = 0;
  const inBatch = new PacketBatch({ capacity: 64 });
  rx.onReadable(() => {
    wakeups++;
    for (;;) {
      inBatch.clear();
      const n = rx.receive(inBatch);
      for (let i = 0; i < n; i++) {
        if (inBatch.inPort[i] !== 2) badPort++;
        const s = testSeq(inBatch.data, inBatch.offset[i], inBatch.length[i]);
        if (s < 0 || s >= TOTAL) { foreign++; continue; }
        if (seen[s] === undefined) got++;
        seen[s] = inBatch.data.slice(inBatch.offset[i], inBatch.offset[i] + inBatch.length[i]);
      }
      if (n < inBatch.capacity) break; // drained
    }
  });

  const out = new PacketBatch({ capacity: 256 });
  let sent = 0;
  const order: number[] = []; // wire order: frame 261 goes out after its batch
  for (let first = 0; first < TOTAL; first += 256) {
    fillBatch(out, first, Math.min(256, TOTAL - first));
    if (first === 256) out.drop[5] = 9; // a dropped frame is not sent...
    sent += tx.transmit(out);
    for (let s = first; s < first + out.count; s++) if (!(first === 256 && s === 261)) order.push(s);
    if (first === 256) order.push(261);
    if (first === 256) { out.drop[5] = 0; sent += tx.transmit(out, 5, 1); } // ...until it is alive
    await new Promise((r) => setImmediate(r));
  }
  t.equal(sent, TOTAL, 'transmit reports every frame sent');
  await until(() => got === TOTAL, 5000, 'all frames on the receiving port');

  let mismatches = 0;
  for (let s = 0; s < TOTAL; s++) {
    const want = testFrame(s);
    const have = seen[s]!;
    if (have.length !== want.length || Buffer.compare(Buffer.from(have), Buffer.from(want)) !== 0) mismatches++;
  }
  t.equal(badPort, 0, 'inPort set to the port index');
  t.equal(mismatches, 0, 'every frame byte-identical, 802.1Q tags restored');
  t.ok(wakeups >= 1 && wakeups < TOTAL, `woken ${wakeups} times for ${TOTAL} frames (batched readiness)`);

  tx.pollStats();
  rx.pollStats();
  t.equal(tx.counters.txPackets, TOTAL);
  t.equal(tx.counters.txBytes, Array.from({ length: TOTAL }, (_, s) => testFrame(s).length).reduce((a, b) => a + b, 0));
  t.equal(rx.counters.rxPackets, TOTAL + foreign);
  t.equal(rx.counters.kernelDrops, 0, 'no kernel ring drops at this rate');
  t.equal(rx.counters.totalDrops, 0);

  // Own transmissions are not read back on the sending socket.
  const back = new PacketBatch({ capacity: 256 });
  let own = 0;
  while (tx.receive(back) > 0) {
    for (let i = 0; i < back.count; i++) if (testSeq(back.data, back.offset[i], back.length[i]) >= 0) own++;
    back.clear();
  }
  t.equal(own, 0, 'sender does not see its own frames');

  // Independent oracle: tcpdump on the receiving veth saw the same frames.
  await tcpdumpWrote(pcap, TOTAL);
  await stopTcpdump(dump);
  const lens = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 })
    .trim().split('\n').map(Number);
  t.equal(lens.length, TOTAL, 'tcpdump capture (read by tshark) has the same number of frames');
  t.same(lens, order.map((s) => testFrame(s).length), 'and the same lengths in wire order');
});

t.test('a fanout group and ring geometry options are accepted; stats are deltas', { skip }, async (t) => {
  const v = makeVethPair(t);
  const p1 = new AfPacketPort({ interface: v.ifB, netns: v.nsB, fanout: { group: 77, mode: 'hash' }, blockSize: 1 << 16, blockCount: 4, frameSize: 2048 });
  const p2 = new AfPacketPort({ interface: v.ifB, netns: v.nsB, fanout: { group: 77, mode: 'hash' }, blockSize: 1 << 16, blockCount: 4 });
  t.teardown(() => Promise.all([p1.close(), p2.close()]));
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => tx.close());
  const out = new PacketBatch({ capacity: 100 });
  fillBatch(out, 0, 100);
  t.equal(tx.transmit(out), 100);
  const b = new PacketBatch({ capacity: 256 });
  await until(() => { p1.receive(b); p2.receive(b); return b.count >= 100; }, 3000, 'fanout members to get all frames');
  const seqs = new Set<number>();
  for (let i = 0; i < b.count; i++) seqs.add(testSeq(b.data, b.offset[i], b.length[i]));
  t.equal(seqs.size, 100, 'each frame delivered to exactly one fanout member');
  t.equal(b.count, 100);
});

t.test('interface deleted under a polled port: callback reports it', { skip }, async (t) => {
  const v = makeVethPair(t);
  const p = new AfPacketPort({ interface: v.ifB, netns: v.nsB });
  t.teardown(() => p.close());
  let calls = 0;
  p.onReadable(() => { calls++; });
  execFileSync('ip', ['netns', 'exec', v.nsA, 'ip', 'link', 'del', v.ifA]); // takes the peer with it
  await until(() => p.pollError !== null, 3000, 'poll error after link deletion');
  t.match(p.pollError, /interface gone or socket error/);
  t.ok(calls >= 1, 'callback ran so the owner notices');
});

t.test('kernel ring drops are counted exactly: read + dropped = sent', { skip }, async (t) => {
  const v = makeVethPair(t);
  // Two 4 KiB blocks hold a handful of frames: a burst without reading must overflow.
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockSize: 4096, blockCount: 2, frameSize: 2048, blockTimeoutMs: 1 });
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => Promise.all([rx.close(), tx.close()]));
  const out = new PacketBatch({ capacity: 250 });
  let sent = 0;
  for (let k = 0; k < 2; k++) { fillBatch(out, k * 250, 250); sent += tx.transmit(out); }
  t.equal(sent, 500);
  await new Promise((r) => setTimeout(r, 50));
  const b = new PacketBatch({ capacity: 256 });
  let read = 0;
  for (let k = 0; k < 5; k++) {
    b.clear();
    read += rx.receive(b);
    await new Promise((r) => setTimeout(r, 10));
  }
  rx.pollStats();
  t.ok(rx.counters.kernelDrops > 0, `ring overflowed (${rx.counters.kernelDrops} drops, ${read} read)`);
  t.equal(read + rx.counters.kernelDrops, 500, 'every frame either read or counted as a kernel drop');
  t.equal(rx.counters.rxPackets, read);
  rx.pollStats();
  t.equal(rx.counters.kernelDrops + read, 500, 'stats are deltas: a second read adds nothing');
});

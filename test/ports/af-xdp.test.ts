/**
 * AF_XDP port on a veth pair across two namespaces, tested as the AF_PACKET
 * port is: 1200 frames (60..1514 B, some 802.1Q tagged) arrive byte-identical
 * both ways, counted by the ports and by independent oracles (tcpdump on the
 * far side, veth's own XDP counters); ring drops are counted exactly; oversize
 * frames are counted, not truncated; a closed port says so and leaves no XDP
 * program behind.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { AfXdpPort } from '../../src/ports/af-xdp-port.js';
import { PortDrop } from '../../src/ports/counters.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeVethPair, nsExec, startTcpdump, stopTcpdump, tcpdumpWrote, until } from './fixtures/netns.js';
import { fillBatch, testFrame, testSeq } from './fixtures/frames.js';
import { ethtoolStat, xdpProgOn } from './fixtures/xdp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built' : false;
const TOTAL = 1200;
const tshark = (pcap: string) => execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 24 })
  .trim().split('\n').filter((l) => l !== '').map(Number);
const frameBytes = (n: number) => Array.from({ length: n }, (_, s) => testFrame(s).length).reduce((a, b) => a + b, 0);

t.test('AF_PACKET -> AF_XDP: frames arrive byte-identical, metadata reset, counted by the kernel too', { skip }, async (t) => {
  const v = makeVethPair(t);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-xsk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rx = new AfXdpPort({ interface: v.ifB, netns: v.nsB, name: 'b', index: 2 });
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, name: 'a', index: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  t.match(rx.details(), { xdpMode: 'native', attachedVia: 'link', socketMode: 'copy', queues: '0' }, 'native XDP on veth, copy mode, bpf_link');
  t.match(xdpProgOn(v.nsB, v.ifB), { name: 'vtepd_xsk' }, 'ip link shows vtepd_xsk on the interface');
  const [sentPcap, stackPcap] = [join(dir, 'a.pcap'), join(dir, 'b.pcap')];
  const dumpA = await startTcpdump(v.nsA, v.ifA, sentPcap, []);
  const dumpB = await startTcpdump(v.nsB, v.ifB, stackPcap, []);
  t.teardown(() => Promise.all([stopTcpdump(dumpA), stopTcpdump(dumpB)]));

  const seen = new Array<Uint8Array | undefined>(TOTAL);
  let got = 0, wakeups = 0, badPort = 0, badMeta = 0;
  const inBatch = new PacketBatch({ capacity: 64 });
  rx.onReadable(() => {
    wakeups++;
    for (;;) {
      inBatch.clear();
      // Metadata left over from anything earlier must be reset for the new frames (as append() does).
      inBatch.drop.fill(7); inBatch.vni.fill(5); inBatch.flags.fill(3); inBatch.l2.fill(9); inBatch.remoteAddr.fill(1); inBatch.entropy.fill(2);
      const n = rx.receive(inBatch);
      for (let i = 0; i < n; i++) {
        if (inBatch.inPort[i] !== 2) badPort++;
        if (inBatch.drop[i] !== 0 || inBatch.vni[i] !== -1 || inBatch.outPort[i] !== -1 || inBatch.flags[i] !== 0 || inBatch.l2[i] !== 0 ||
          inBatch.l3[i] !== -1 || inBatch.entropy[i] !== 0 || inBatch.remoteAddr[i * 4] !== 0 || inBatch.offset[i] !== inBatch.slotStart(i) ||
          inBatch.wireLength[i] !== inBatch.length[i] || inBatch.tsSec[i] < 1.6e9) badMeta++;
        const s = testSeq(inBatch.data, inBatch.offset[i], inBatch.length[i]);
        if (s < 0 || s >= TOTAL) continue;
        if (seen[s] === undefined) got++;
        seen[s] = inBatch.data.slice(inBatch.offset[i], inBatch.offset[i] + inBatch.length[i]);
      }
      if (n < inBatch.capacity) break;
    }
  });
  const out = new PacketBatch({ capacity: 256 });
  for (let first = 0; first < TOTAL; first += 256) {
    fillBatch(out, first, Math.min(256, TOTAL - first));
    t.equal(tx.transmit(out), out.count);
    await new Promise((r) => setImmediate(r));
  }
  await until(() => got === TOTAL, 5000, 'all frames on the AF_XDP port');
  let mismatches = 0;
  for (let s = 0; s < TOTAL; s++) if (Buffer.compare(Buffer.from(seen[s]!), Buffer.from(testFrame(s))) !== 0) mismatches++;
  t.equal(mismatches, 0, 'every frame byte-identical (802.1Q tags stay in the frame: XDP sees the wire bytes)');
  t.equal(badPort, 0, 'inPort set');
  t.equal(badMeta, 0, 'offset, lengths, timestamp set and the rest of the metadata reset, in C');
  t.ok(wakeups >= 1 && wakeups < TOTAL, `woken ${wakeups} times for ${TOTAL} frames`);
  rx.pollStats();
  t.equal(rx.counters.rxPackets, TOTAL);
  t.equal(rx.counters.rxBytes, frameBytes(TOTAL));
  t.equal(rx.counters.totalDrops, 0, 'no drops at this rate');
  t.equal(rx.details().xdpTaken, TOTAL, "the program's own counter: every frame redirected to the socket");
  // Independent oracles: veth's XDP counters, and the host stack that never saw the frames.
  t.equal(ethtoolStat(v.nsB, v.ifB, 'rx_queue_0_xdp_redirect'), TOTAL, 'veth counted TOTAL XDP redirects');
  t.equal(ethtoolStat(v.nsB, v.ifB, 'rx_queue_0_xdp_bytes'), frameBytes(TOTAL) - 14 * TOTAL, 'and their bytes (veth counts them without the Ethernet header)');
  await tcpdumpWrote(sentPcap, TOTAL);
  await stopTcpdump(dumpA);
  await stopTcpdump(dumpB);
  t.same(tshark(sentPcap), Array.from({ length: TOTAL }, (_, s) => testFrame(s).length), 'tcpdump on the sender saw the same frames in order');
  t.equal(tshark(stackPcap).length, 0, 'the receiving host stack saw none of them (taken by XDP)');
});

t.test('AF_XDP -> AF_PACKET: one kick per batch, bytes on the wire as sent', { skip }, async (t) => {
  const v = makeVethPair(t);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-xsk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tx = new AfXdpPort({ interface: v.ifA, netns: v.nsA, name: 'a', index: 1 });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, name: 'b', index: 2, blockTimeoutMs: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  const pcap = join(dir, 'b.pcap');
  const dump = await startTcpdump(v.nsB, v.ifB, pcap, []);
  t.teardown(() => stopTcpdump(dump));
  const seen = new Array<Uint8Array | undefined>(TOTAL);
  let got = 0;
  const inBatch = new PacketBatch({ capacity: 256 });
  const out = new PacketBatch({ capacity: 256 });
  let sent = 0, calls = 0;
  const order: number[] = [];
  for (let first = 0; first < TOTAL; first += 256) {
    fillBatch(out, first, Math.min(256, TOTAL - first));
    if (first === 256) out.drop[5] = 9; // a dropped frame is not sent...
    sent += tx.transmit(out);
    calls++;
    for (let s = first; s < first + out.count; s++) if (!(first === 256 && s === 261)) order.push(s);
    if (first === 256) { out.drop[5] = 0; sent += tx.transmit(out, 5, 1); calls++; order.push(261); } // ...until it is alive
    await until(() => { inBatch.clear(); rx.receive(inBatch); for (let i = 0; i < inBatch.count; i++) { const s = testSeq(inBatch.data, inBatch.offset[i], inBatch.length[i]); if (s >= 0 && s < TOTAL && seen[s] === undefined) { seen[s] = inBatch.data.slice(inBatch.offset[i], inBatch.offset[i] + inBatch.length[i]); got++; } } return got >= order.length; }, 3000, `frames up to ${first}`);
  }
  t.equal(sent, TOTAL, 'transmit reports every frame sent');
  let mismatches = 0;
  for (let s = 0; s < TOTAL; s++) if (seen[s] === undefined || Buffer.compare(Buffer.from(seen[s]!), Buffer.from(testFrame(s))) !== 0) mismatches++;
  t.equal(mismatches, 0, 'every frame byte-identical at the far end');
  tx.pollStats();
  const d = tx.details();
  t.equal(tx.counters.txPackets, TOTAL);
  t.equal(tx.counters.txBytes, frameBytes(TOTAL));
  t.equal(tx.counters.totalDrops, 0);
  t.ok(Number(d.txKicks) <= calls, `${d.txKicks} sendto kicks for ${calls} transmit calls (at most one per batch)`);
  t.equal(d.txBudget, 2048, 'one copy-mode kick may send a whole TX ring (XDP_MAX_TX_SKB_BUDGET)');
  // Own transmissions are not read back.
  const back = new PacketBatch({ capacity: 256 });
  t.equal(tx.receive(back), 0, 'sender does not see its own frames');
  await tcpdumpWrote(pcap, order.length);
  await stopTcpdump(dump);
  t.same(tshark(pcap), order.map((s) => testFrame(s).length), 'tcpdump on the receiver: same frames, wire order');
});

t.test('ring drops are counted exactly: read + dropped = sent; stats are deltas', { skip }, async (t) => {
  const v = makeVethPair(t);
  const rx = new AfXdpPort({ interface: v.ifB, netns: v.nsB, fillSize: 64, rxSize: 64, txSize: 64, compSize: 64 });
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => Promise.all([rx.close(), tx.close()]));
  const out = new PacketBatch({ capacity: 250 });
  for (let k = 0; k < 2; k++) { fillBatch(out, k * 250, 250); t.equal(tx.transmit(out), 250); }
  await new Promise((r) => setTimeout(r, 50));
  const b = new PacketBatch({ capacity: 256 });
  let read = 0;
  for (let k = 0; k < 3; k++) { b.clear(); read += rx.receive(b); }
  rx.pollStats();
  const c = rx.counters;
  const lost = c.drops[PortDrop['xsk-fill-empty']] + c.drops[PortDrop['xsk-rx-ring-full']];
  t.ok(lost > 0, `rings overflowed (${c.drops[PortDrop['xsk-fill-empty']]} fill-ring empty, ${c.drops[PortDrop['xsk-rx-ring-full']]} rx ring full, ${read} read)`);
  t.equal(read + lost, 500, 'every frame either read or counted with its reason');
  t.equal(c.rxPackets, read);
  t.equal(c.totalDrops, lost, 'no other drops');
  rx.pollStats();
  t.equal(c.totalDrops, lost, 'a second pollStats adds nothing (XDP_STATISTICS are totals; deltas are taken)');
});

t.test('oversize: counted on TX and RX, never truncated', { skip }, async (t) => {
  const v = makeVethPair(t);
  for (const [ns, ifn] of [[v.nsA, v.ifA], [v.nsB, v.ifB]]) nsExec(ns, 'ip', ['link', 'set', ifn, 'mtu', '3000']);
  const small = new AfXdpPort({ interface: v.ifB, netns: v.nsB, name: 'small' }); // 2048 B UMEM frames: up to 1792 B
  const afp = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => Promise.all([small.close(), afp.close()]));
  const big = (len: number, seq: number) => { const f = testFrame(seq).slice(0, 60); const g = new Uint8Array(len); g.set(f); return g; };
  const out = new PacketBatch({ capacity: 16 });
  for (let s = 0; s < 4; s++) out.append(big(2000, s), 0, 2000, 2000, 0, 0);
  for (let s = 4; s < 10; s++) out.append(big(300, s), 0, 300, 300, 0, 0);
  t.equal(afp.transmit(out), 10);
  const b = new PacketBatch({ capacity: 16, dataRoom: 256 });
  await until(() => { small.receive(b); small.pollStats(); return small.counters.drops[PortDrop.oversize] + small.counters.drops[PortDrop.kernel] >= 10; }, 3000, 'drops');
  t.equal(b.count, 0, 'nothing delivered truncated');
  t.equal(small.counters.drops[PortDrop.kernel], 4, '2000 B frames do not fit a 2048 B UMEM frame: the kernel drops them (rx_dropped)');
  t.equal(small.counters.drops[PortDrop.oversize], 6, '300 B frames do not fit a 256 B batch slot: counted oversize');
  await small.close();

  const roomy = new AfXdpPort({ interface: v.ifB, netns: v.nsB, name: 'roomy', frameSize: 4096 });
  t.teardown(() => roomy.close());
  t.equal(afp.transmit(out), 10);
  const b2 = new PacketBatch({ capacity: 16, dataRoom: 2048 });
  await until(() => { roomy.receive(b2); return b2.count >= 10; }, 3000, 'frames in 4096 B UMEM frames');
  t.same(Array.from(b2.length.subarray(0, 10)).sort((x, y) => x - y), [300, 300, 300, 300, 300, 300, 2000, 2000, 2000, 2000], 'frameSize 4096 takes them whole');

  // TX: the MTU (3000) + Ethernet + one tag is the limit; UMEM frame size too.
  const txp = new AfXdpPort({ interface: v.ifA, netns: v.nsA, name: 'txp', frameSize: 4096 });
  t.teardown(() => txp.close());
  const o2 = new PacketBatch({ capacity: 4, dataRoom: 4000 });
  o2.append(big(3100, 1), 0, 3100, 3100, 0, 0);
  o2.append(big(3018, 2), 0, 3018, 3018, 0, 0);
  t.equal(txp.transmit(o2), 1, 'only the frame within MTU + 18 is sent');
  t.equal(txp.counters.drops[PortDrop.oversize], 1, 'the other is counted oversize');
  t.equal(txp.counters.txBytes, 3018);
});

t.test('a closed port says so, counts what it could not send, and leaves no XDP program', { skip }, async (t) => {
  const v = makeVethPair(t);
  const p = new AfXdpPort({ interface: v.ifB, netns: v.nsB, name: 'gone' });
  const sock = p.sockets[0];
  t.ok(xdpProgOn(v.nsB, v.ifB), 'program attached while open');
  await p.close();
  t.equal(xdpProgOn(v.nsB, v.ifB), null, 'close() detached it (ip -j link shows no xdp)');
  const b = new PacketBatch({ capacity: 8 });
  t.equal(p.receive(b), 0);
  fillBatch(b, 0, 3);
  t.equal(p.transmit(b), 0);
  t.equal(p.counters.drops[PortDrop['tx-error']], 3);
  t.equal(p.counters.lastTxError, 'EBADF');
  t.throws(() => sock.rxBurst(nativeBatchView(b), 0, 8, 0), /AF_XDP port '.*' is closed/);
  t.throws(() => sock.txBurst(nativeBatchView(b), 0, 3), /is closed/);
  t.throws(() => p.program.setFilter({ mode: 'all' }), /is closed/);
  await p.close(); // twice is fine
  t.throws(() => sock.txBurst(nativeBatchView(b), 0, 99), /is closed|beyond/);
});

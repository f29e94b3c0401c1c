/**
 * cap (libpcap) port with a BPF filter on a veth end in a namespace: of 300
 * frames sent by an AF_PACKET port, exactly the ones the filter selects arrive
 * (test frames with an even sequence number), byte-identical; frames
 * injected through cap arrive on the other end.
 */
import t from 'tap';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { CapPort } from '../../src/ports/cap-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeVethPair, until } from './fixtures/netns.js';
import { fillBatch, testFrame, testSeq } from './fixtures/frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built (used for the peer)' : false;

t.test('BPF filter selects frames; bytes identical; cap transmit works', { skip }, async (t) => {
  const v = makeVethPair(t);
  // Test ethertype and even sequence number (low byte of the seq at offset 17).
  const filter = 'ether proto 0x88b5 and ether[17] & 1 = 0';
  const cap = new CapPort({ interface: v.ifB, netns: v.nsB, filter, index: 7 });
  const peer = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => Promise.all([cap.close(), peer.close()]));

  const got = new Map<number, Uint8Array>();
  const inb = new PacketBatch({ capacity: 64 });
  let badPort = 0;
  cap.onReadable(() => {
    for (;;) {
      inb.clear();
      const n = cap.receive(inb);
      for (let i = 0; i < n; i++) {
        if (inb.inPort[i] !== 7) badPort++;
        got.set(testSeq(inb.data, inb.offset[i], inb.length[i]), inb.data.slice(inb.offset[i], inb.offset[i] + inb.length[i]));
      }
      if (n < inb.capacity) break;
    }
  });
  const out = new PacketBatch({ capacity: 100 });
  let sent = 0;
  for (let first = 0; first < 300; first += 50) { // paced: libpcap's ring has ~64 KiB slots (see CapPort)
    fillBatch(out, first, 50);
    sent += peer.transmit(out);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(sent, 300);
  // Linux runs socket filters on the frame with its 802.1Q tag already moved to metadata,
  // so tagged test frames match too (libpcap puts the tag back in the bytes we get).
  const want = Array.from({ length: 300 }, (_, s) => s).filter((s) => s % 2 === 0);
  await until(() => got.size >= want.length, 5000, 'filtered frames on the cap port').catch((e) => { t.comment(`got ${got.size} missing ${want.filter((s) => !got.has(s))} drops ${JSON.stringify(cap.counters.snapshot())}`); throw e; });
  await new Promise((r) => setTimeout(r, 100)); // anything extra would show up now
  t.same([...got.keys()].sort((a, b) => a - b), want, 'exactly the frames the filter selects');
  let mismatches = 0;
  for (const s of want) if (Buffer.compare(Buffer.from(got.get(s)!), Buffer.from(testFrame(s))) !== 0) mismatches++;
  t.equal(mismatches, 0, 'byte-identical');
  t.equal(badPort, 0, 'inPort set');
  t.equal(cap.counters.rxPackets, want.length);

  // Inject through libpcap, receive on the AF_PACKET peer.
  fillBatch(out, 1000, 20);
  out.drop[3] = 1;
  t.equal(cap.transmit(out), 19, 'alive frames injected');
  const back = new PacketBatch({ capacity: 256 });
  const seen = new Set<number>();
  await until(() => {
    back.clear();
    peer.receive(back);
    for (let i = 0; i < back.count; i++) seen.add(testSeq(back.data, back.offset[i], back.length[i]));
    return seen.size >= 19;
  }, 3000, 'injected frames on the peer');
  t.notOk(seen.has(1003), 'dropped frame not injected');
  t.equal(cap.counters.txPackets, 19);
});

t.test('cap on a missing interface says which one', { skip }, async (t) => {
  t.throws(() => new CapPort({ interface: 'nosuchif0' }), /cap \(libpcap\) open 'nosuchif0'/);
});

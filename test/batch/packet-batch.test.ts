import t from 'tap';
import { PacketBatch, PacketFlag, NONE } from '../../src/batch/packet-batch.js';

t.test('append copies into a slot with headroom and resets metadata', (t) => {
  const b = new PacketBatch({ capacity: 4, headroom: 64, dataRoom: 256 });
  const frame = Uint8Array.from({ length: 60 }, (_, i) => i);
  const i = b.append(frame, 0, 60, 60, 12, 345);
  t.equal(i, 0);
  t.equal(b.offset[0], 64);
  t.equal(b.headroomLeft(0), 64);
  t.same(Array.from(b.frame(0)), Array.from(frame));
  t.equal(b.vni[0], NONE);
  t.equal(b.outPort[0], NONE);
  t.equal(b.tsSec[0], 12);
  t.equal(b.tsNsec[0], 345);
  t.end();
});

t.test('oversized frames and a full batch are refused, never truncated', (t) => {
  const b = new PacketBatch({ capacity: 2, headroom: 0, dataRoom: 100 });
  const big = new Uint8Array(101);
  t.equal(b.append(big, 0, 101, 101, 0, 0), -1);
  t.equal(b.count, 0);
  t.equal(b.append(big, 0, 100, 100, 0, 0), 0);
  t.equal(b.append(big, 0, 100, 150, 0, 0), 1);
  t.equal(b.flags[1] & PacketFlag.TRUNCATED, PacketFlag.TRUNCATED);
  t.equal(b.append(big, 0, 10, 10, 0, 0), -1);
  t.ok(b.full);
  t.end();
});

t.test('compact keeps order and moves bytes and metadata', (t) => {
  const b = new PacketBatch({ capacity: 4, headroom: 16, dataRoom: 64 });
  for (let k = 0; k < 4; k++) {
    const f = new Uint8Array(10 + k).fill(k + 1);
    b.append(f, 0, f.length, f.length, k, 0);
    b.vni[k] = 100 + k;
  }
  b.drop[0] = 3;
  b.drop[2] = 1;
  t.equal(b.compact(), 2);
  t.same(Array.from(b.frame(0)), new Array(11).fill(2));
  t.same(Array.from(b.frame(1)), new Array(13).fill(4));
  t.equal(b.vni[0], 101);
  t.equal(b.vni[1], 103);
  t.equal(b.tsSec[1], 3);
  t.end();
});

/**
 * KernelChecksumStage (checksum: kernel) without a kernel: after it, doing what
 * the kernel does for NEEDS_CSUM (sum from csum_start to the end, fold,
 * invert, store at csum_start + csum_offset) must give exactly the frames
 * EncapStage makes with the checksum computed in TypeScript. Frames that must
 * not be touched (NVGRE, dropped ones, a network sending no UDP checksum) get
 * all-zero vnet slots, even where another network's batch left NEEDS_CSUM.
 * The real kernel completing it on a veth: test/daemon/checksum-placement.test.ts.
 */
import t from 'tap';
import { PacketBatch, NONE } from '../../src/batch/packet-batch.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { KernelChecksumStage } from '../../src/tunnel/vnet-checksum.js';
import { VNET, VNET_FIELDS, type AfPacketPort } from '../../src/ports/af-packet-port.js';
import { fold16, sum16 } from '../../src/packet/checksum.js';
import type { EncapConfig, TunnelType } from '../../src/tunnel/tunnel-config.js';

/** The part of AfPacketPort the stage uses: one shared vnet array, as on the real port. */
function fakePort(): AfPacketPort & { v: Uint16Array } {
  const p = { v: new Uint16Array(0), vnetHdr: true, name: 'ul0', txVnetFor(b: PacketBatch) { if (p.v.length < b.capacity * VNET_FIELDS) p.v = new Uint16Array(b.capacity * VNET_FIELDS); return p.v; } };
  return p as unknown as AfPacketPort & { v: Uint16Array };
}

function frames(n: number, seed: number): PacketBatch {
  let x = seed;
  const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const b = new PacketBatch({ capacity: n });
  for (let k = 0; k < n; k++) {
    const f = new Uint8Array(k < 3 ? [14, 15, 61][k] : 14 + (rnd() % 1387));
    for (let j = 0; j < f.length; j++) f[j] = rnd() & 0xff;
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
    b.append(f, 0, f.length, f.length, 0, 0);
    b.outPort[k] = k % 2 === 0 ? NONE : 1;
  }
  return b;
}

const cfg = (type: TunnelType, v6: boolean, udpCsum: boolean): EncapConfig => ({
  type, vni: 77, mtu: 9000, udpCsum, zeroCsum6Tx: !udpCsum,
  local: v6 ? '2001:db8::1' : '192.0.2.1', remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }, { ip: v6 ? '2001:db8::3' : '192.0.2.3' }],
});

/** What the kernel does with a NEEDS_CSUM slot. */
function completeLikeKernel(b: PacketBatch, v: Uint16Array): void {
  for (let i = 0; i < b.count; i++) {
    const o = i * VNET_FIELDS;
    if (v[o] !== VNET.F_NEEDS_CSUM) continue;
    const start = b.offset[i] + v[o + 4];
    const field = start + v[o + 5];
    let c = ~fold16(sum16(b.data, start, b.offset[i] + b.length[i] - start)) & 0xffff;
    if (c === 0) c = 0xffff;
    b.data[field] = c >> 8;
    b.data[field + 1] = c & 0xff;
  }
}

for (const v6 of [false, true]) {
  t.test(`VXLAN over IPv${v6 ? 6 : 4}: pseudo-header sum + NEEDS_CSUM, completed, equals the TypeScript checksum`, async (t) => {
    const want = frames(64, 7 + (v6 ? 1 : 0));
    const got = frames(64, 7 + (v6 ? 1 : 0));
    want.drop[5] = 9; // dropped upstream: neither stage touches it
    got.drop[5] = 9;
    new EncapStage(cfg('vxlan', v6, true)).process(want);
    new EncapStage(cfg('vxlan', v6, false)).process(got);
    const port = fakePort();
    const stage = new KernelChecksumStage(port);
    stage.process(got);
    t.equal(stage.partial, 63, 'every alive frame handed to the kernel');
    t.equal(port.v[0], VNET.F_NEEDS_CSUM);
    t.equal(port.v[4], got.l4[0], 'csum_start = the outer UDP header');
    t.equal(port.v[5], 6, 'csum_offset = the UDP checksum field');
    t.same([...port.v.subarray(5 * VNET_FIELDS, 6 * VNET_FIELDS)], [0, 0, 0, 0, 0, 0], 'dropped frame: zero slot');
    completeLikeKernel(got, port.v);
    t.same(got.data, want.data, 'completed frames equal EncapStage with the checksum computed in TypeScript, byte for byte');
  });
}

t.test('a network without UDP checksums on the same port gets clean slots after one with them', async (t) => {
  const port = fakePort();
  const a = frames(16, 3);
  new EncapStage(cfg('vxlan', false, false)).process(a);
  new KernelChecksumStage(port).process(a);
  t.ok(port.v.subarray(0, 16 * VNET_FIELDS).some((x) => x !== 0), 'the first network left NEEDS_CSUM slots');
  const g = frames(16, 4);
  new EncapStage(cfg('nvgre', false, false)).process(g);
  const before = g.data.slice();
  const plain = new KernelChecksumStage(port, true);
  plain.process(g);
  t.equal(plain.plain, 16, 'NVGRE frames are not UDP: zero slots');
  t.ok(port.v.subarray(0, 16 * VNET_FIELDS).every((x) => x === 0));
  t.same(g.data, before, 'and their bytes untouched');
  const c = frames(16, 5);
  new EncapStage(cfg('vxlan', false, false)).process(c);
  new KernelChecksumStage(port).process(a); // dirty the slots again
  const off = new KernelChecksumStage(port, false);
  const cb = c.data.slice();
  off.process(c);
  t.equal(off.plain, 16, 'complete=false: a VXLAN network with udpChecksum off asks nothing of the kernel');
  t.ok(port.v.subarray(0, 16 * VNET_FIELDS).every((x) => x === 0));
  t.same(c.data, cb, 'and leaves the zero checksum alone');
});

t.test('refuses a port without a virtio-net header', async (t) => {
  const p = { vnetHdr: false, name: 'ul0' } as unknown as AfPacketPort;
  t.throws(() => new KernelChecksumStage(p), /needs the underlay port ul0 opened with a virtio-net header/);
});

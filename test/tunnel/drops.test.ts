/**
 * One hostile or unwanted frame per decap drop reason (plus the encap ones):
 * each frame is built by scapy as a valid tunnel packet, then the one field
 * under test is made to lie. Every test also carries a valid frame in the same
 * batch to prove the rest of the batch is processed normally.
 */
import t from 'tap';
import { DecapStage } from '../../src/tunnel/decap.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { TunnelDrop, TUNNEL_DROPS, dropReason } from '../../src/tunnel/drop-reasons.js';
import { PacketFlag, TUNNEL_KIND_SHIFT, TunnelKind } from '../../src/batch/packet-batch.js';
import type { DecapConfig } from '../../src/tunnel/tunnel-config.js';
import { scapy, batchOf, hex } from './fixtures/util.js';

const INNER = "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2')/UDP(sport=1234, dport=80)/Raw(b'x'*20)";
const O4 = "Ether(src='02:00:00:00:01:01', dst='02:00:00:00:01:02')/IP(src='192.0.2.1', dst='192.0.2.2', flags='DF')";
const O6 = "Ether(src='02:00:00:00:01:01', dst='02:00:00:00:01:02')/IPv6(src='2001:db8::1', dst='2001:db8::2')";
const [inner, vx4, vx6, gen4, gre4, gre6, vx4vlan] = scapy([
  INNER,
  `${O4}/UDP(sport=50000, dport=4789)/VXLAN(vni=100)/${INNER}`,
  `${O6}/UDP(sport=50000, dport=4789)/VXLAN(vni=100)/${INNER}`,
  `${O4}/UDP(sport=50000, dport=6081)/GENEVE(vni=100, proto=0x6558, options=[GeneveOptions(classid=0x0102, type=0x05, data=b'abcd')])/${INNER}`,
  `${O4}/GRE(key_present=1, key=(100<<8)|7, proto=0x6558)/${INNER}`,
  `${O6}/GRE(key_present=1, key=(100<<8)|7, proto=0x6558)/${INNER}`,
  "Ether(src='02:00:00:00:01:01', dst='02:00:00:00:01:02')/Dot1Q(vlan=5)/Dot1Q(vlan=6)/IP(src='192.0.2.1', dst='192.0.2.2')/UDP(sport=50000, dport=4789)/VXLAN(vni=100)/" + INNER,
]);

// Offsets inside the untagged IPv4 frames: IP at 14, UDP/GRE at 34, tunnel header at 42.
const IP = 14;
const L4 = 34;
const TUN = 42;

function fixIp4Csum(f: Uint8Array, ip = IP): void {
  f[ip + 10] = 0;
  f[ip + 11] = 0;
  let s = 0;
  for (let k = 0; k < 20; k += 2) s += (f[ip + k] << 8) | f[ip + k + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  f[ip + 10] = (~s >> 8) & 0xff;
  f[ip + 11] = ~s & 0xff;
}

function mutate(base: Uint8Array, fn: (f: Uint8Array) => Uint8Array | void): Uint8Array {
  const f = Uint8Array.from(base);
  return fn(f) ?? f;
}

/** Run [hostile, valid] through a decap stage; check the drop code, counters and the valid frame. */
function expectDrop(t: Tap.Test, name: string, frame: Uint8Array, reason: string, cfg: DecapConfig = {}, valid = vx4): void {
  t.test(name, (t) => {
    const b = batchOf([frame, valid]);
    const st = new DecapStage(cfg);
    st.process(b);
    t.equal(dropReason(b.drop[0]), reason, `frame dropped as ${reason}`);
    t.equal(b.drop[1], 0, 'valid neighbour survives');
    t.equal(hex(b.frame(1)), hex(inner), 'valid neighbour decapsulated');
    t.equal(st.counters.snapshot()[`drop-${reason}`], 1, 'counter');
    t.equal(st.counters.outFrames, 1);
    t.end();
  });
}
type TapTest = Parameters<Parameters<typeof t.test>[1]>[0];
declare namespace Tap {
  type Test = TapTest;
}

t.test('the valid base frames decap to the inner frame', (t) => {
  const b = batchOf([vx4, vx6, gen4, gre4, gre6, vx4vlan]);
  const st = new DecapStage();
  st.process(b);
  for (let i = 0; i < b.count; i++) {
    t.equal(b.drop[i], 0, `frame ${i} alive`);
    t.equal(hex(b.frame(i)), hex(inner), `frame ${i} inner bytes`);
    t.equal(b.vni[i], 100);
    t.ok(b.flags[i] & PacketFlag.DECAPPED);
  }
  t.equal(b.remoteAddr[0], 0xc0000201, 'IPv4 remote in word 0');
  t.equal(b.entropy[0], 50000, 'UDP sport as entropy');
  t.equal(b.entropy[3], 7, 'NVGRE FlowID as entropy');
  t.ok(b.flags[1] & PacketFlag.REMOTE_V6);
  t.same(Array.from(b.remoteAddr.subarray(4, 8)), [0x20010db8, 0, 0, 1], 'IPv6 remote in 4 words');
  t.end();
});

expectDrop(t, 'non-tunnel frame', inner, 'not-tunnel');
t.test('non-tunnel frame passes with keepOther', (t) => {
  const b = batchOf([inner, vx4]);
  const st = new DecapStage({ keepOther: true });
  st.process(b);
  t.equal(b.drop[0], 0);
  t.equal(hex(b.frame(0)), hex(inner), 'untouched');
  t.notOk(b.flags[0] & PacketFlag.DECAPPED);
  t.equal(st.counters.passedOther, 1);
  t.equal(st.counters.outFrames, 2);
  t.end();
});
expectDrop(t, 'IPv4 total length past the frame', mutate(vx4, (f) => { f[IP + 2] = 0x7f; fixIp4Csum(f); }), 'ip-bad-length');
expectDrop(t, 'IPv4 total length shorter than the UDP header', mutate(vx4, (f) => { f[IP + 2] = 0; f[IP + 3] = 24; fixIp4Csum(f); }), 'ip-bad-length');
expectDrop(t, 'IPv4 IHL below 5', mutate(vx4, (f) => { f[IP] = 0x44; }), 'ip-bad-header');
expectDrop(t, 'IPv6 payload length past the frame', mutate(vx6, (f) => { f[IP + 4] = 0x7f; }), 'ip-bad-length');
expectDrop(t, 'bad outer IPv4 header checksum', mutate(vx4, (f) => { f[IP + 10] ^= 0x55; }), 'ip4-bad-checksum');
expectDrop(t, 'outer IPv4 first fragment (MF)', mutate(vx4, (f) => { f[IP + 6] = 0x20; fixIp4Csum(f); }), 'ip-fragment');
expectDrop(t, 'outer IPv4 later fragment', mutate(vx4, (f) => { f[IP + 6] = 0x00; f[IP + 7] = 0x10; fixIp4Csum(f); }), 'ip-fragment');
expectDrop(t, 'UDP length past the IP payload', mutate(vx4, (f) => { f[L4 + 4] = 0x7f; }), 'udp-bad-length');
expectDrop(t, 'UDP length below 8', mutate(vx4, (f) => { f[L4 + 4] = 0; f[L4 + 5] = 4; }), 'udp-bad-length');
expectDrop(t, 'wrong outer UDP checksum with verification on', mutate(vx4, (f) => { f[L4 + 6] = 0x12; f[L4 + 7] = 0x34; }), 'udp-bad-checksum', { verifyUdpCsum: true });
expectDrop(t, 'IPv6 outer with UDP checksum 0', mutate(vx6, (f) => { f[54 + 6] = 0; f[54 + 7] = 0; }), 'udp6-zero-checksum');
expectDrop(t, 'VXLAN I bit missing', mutate(vx4, (f) => { f[TUN] = 0; }), 'vxlan-bad-flags');
expectDrop(t, 'GENEVE version 1', mutate(gen4, (f) => { f[TUN] |= 0x40; }), 'geneve-bad-version');
expectDrop(t, 'GENEVE option length past the packet', mutate(gen4, (f) => { const g = f.subarray(0, TUN + 12); g[IP + 2] = 0; g[IP + 3] = 40; fixIp4Csum(g); g[L4 + 4] = 0; g[L4 + 5] = 20; return g; }), 'geneve-bad-opt-length');
expectDrop(t, 'GENEVE option running past the option area', mutate(gen4, (f) => { f[TUN + 8 + 3] = 5; }), 'geneve-bad-opt-length');
expectDrop(t, 'GENEVE unknown critical option', mutate(gen4, (f) => { f[TUN + 1] |= 0x40; f[TUN + 8 + 2] |= 0x80; }), 'geneve-critical-option');
expectDrop(t, 'GENEVE O bit (control message)', mutate(gen4, (f) => { f[TUN + 1] |= 0x80; }), 'geneve-control');
expectDrop(t, 'GENEVE payload not Ethernet', mutate(gen4, (f) => { f[TUN + 2] = 0x08; f[TUN + 3] = 0x00; }), 'geneve-non-ethernet');
expectDrop(t, 'NVGRE with the C bit', mutate(gre4, (f) => { f[L4] |= 0x80; }), 'nvgre-bad-flags');
expectDrop(t, 'NVGRE without the K bit', mutate(gre4, (f) => { f[L4] &= ~0x20; }), 'nvgre-bad-flags');
expectDrop(t, 'NVGRE with the S bit', mutate(gre4, (f) => { f[L4] |= 0x10; }), 'nvgre-bad-flags');
expectDrop(t, 'VNI not in the configured list', vx4, 'unknown-vni', { vnis: [7] }, scapy([`${O4}/UDP(sport=50000, dport=4789)/VXLAN(vni=7)/${INNER}`])[0]);
expectDrop(t, 'tunnel header with no payload', mutate(vx4, (f) => { const g = f.subarray(0, TUN + 8); g[IP + 2] = 0; g[IP + 3] = 36; fixIp4Csum(g); g[L4 + 4] = 0; g[L4 + 5] = 16; return g; }), 'zero-payload');
expectDrop(t, 'inner frame shorter than Ethernet', mutate(vx4, (f) => { const g = f.subarray(0, TUN + 8 + 10); g[IP + 2] = 0; g[IP + 3] = 46; fixIp4Csum(g); g[L4 + 4] = 0; g[L4 + 5] = 26; return g; }), 'inner-too-short');
expectDrop(t, 'UDP header cut off inside the IP payload', mutate(vx4, (f) => { const g = f.subarray(0, L4 + 6); g[IP + 2] = 0; g[IP + 3] = 26; fixIp4Csum(g); return g; }), 'ip-bad-length');
expectDrop(t, 'VXLAN header cut short', mutate(vx4, (f) => { const g = f.subarray(0, TUN + 4); g[IP + 2] = 0; g[IP + 3] = 32; fixIp4Csum(g); g[L4 + 4] = 0; g[L4 + 5] = 12; return g; }), 'truncated');

// issue 15 item 13: a GRE header cut to 6 bytes (the IP length says so honestly) is a short tunnel
// header, like 'VXLAN header cut short', not a lying IP length.
expectDrop(t, 'NVGRE header cut to 6 bytes', mutate(gre4, (f) => { const g = f.subarray(0, L4 + 6); g[IP + 2] = 0; g[IP + 3] = 26; fixIp4Csum(g); return g; }), 'truncated');
expectDrop(t, 'NVGRE over IPv6, header cut to 6 bytes', mutate(gre6, (f) => { const g = f.subarray(0, 54 + 6); g[IP + 4] = 0; g[IP + 5] = 6; return g; }), 'truncated');
expectDrop(t, 'NVGRE with an IP length shorter than the GRE base header', mutate(gre4, (f) => { const g = f.subarray(0, L4 + 6); g[IP + 2] = 0; g[IP + 3] = 22; fixIp4Csum(g); return g; }), 'ip-bad-length');

// A VNI names one network of one type: the kind decap recognised must be the network's.
const NETS: DecapConfig = { networks: [{ vni: 100, type: 'vxlan' }, { vni: 200, type: 'geneve' }] };
expectDrop(t, 'GENEVE frame with the VNI of a VXLAN network', gen4, 'tunnel-type-mismatch', NETS);
expectDrop(t, 'NVGRE frame with the VNI of a VXLAN network', gre4, 'tunnel-type-mismatch', NETS);
for (const tpid of [0x8100, 0x88a8, 0x9100]) {
  // The outer tag must not change the verdict (the old classifier walked 0x8100/0x88a8 only).
  const tagged = new Uint8Array(gen4.length + 4);
  tagged.set(gen4.subarray(0, 12), 0);
  tagged.set([tpid >> 8, tpid & 0xff, 0x00, 0x05], 12);
  tagged.set(gen4.subarray(12), 16);
  expectDrop(t, `GENEVE frame with a VXLAN network's VNI behind a 0x${tpid.toString(16)} tag`, tagged, 'tunnel-type-mismatch', NETS);
}
t.test('decap records the tunnel kind in the flags, also for a frame it drops', (t) => {
  const b = batchOf([vx4, gen4, gre4, inner, mutate(vx4, (f) => { f[TUN] = 0; })]);
  new DecapStage({ keepOther: true, networks: [{ vni: 100, type: 'vxlan' }] }).process(b);
  const kind = (i: number) => (b.flags[i] & PacketFlag.TUNNEL_KIND) >> TUNNEL_KIND_SHIFT;
  t.same([0, 1, 2, 3, 4].map(kind), [TunnelKind.VXLAN, TunnelKind.GENEVE, TunnelKind.NVGRE, TunnelKind.NONE, TunnelKind.VXLAN]);
  t.same([0, 1, 2, 3, 4].map((i) => dropReason(b.drop[i]) ?? 'alive'), ['alive', 'tunnel-type-mismatch', 'tunnel-type-mismatch', 'alive', 'vxlan-bad-flags']);
  t.end();
});
t.test('without networks any kind is accepted for a listed VNI', (t) => {
  const b = batchOf([vx4, gen4, gre4]);
  new DecapStage({ vnis: [100] }).process(b);
  t.same([b.drop[0], b.drop[1], b.drop[2]], [0, 0, 0]);
  t.throws(() => new DecapStage({ vnis: [1], networks: [{ vni: 2, type: 'vxlan' }] }), /either vnis or networks/);
  t.throws(() => new DecapStage({ networks: [{ vni: 2, type: 'vxlan' }, { vni: 2, type: 'nvgre' }] }), /VNI 2 is given two tunnel types/);
  t.end();
});

t.test('a capture-truncated frame counts as truncated, not as a lying length', (t) => {
  const b = batchOf([]);
  const cut = vx4.subarray(0, 60);
  b.append(cut, 0, 60, vx4.length, 0, 0);
  new DecapStage().process(b);
  t.equal(dropReason(b.drop[0]), 'truncated');
  t.end();
});

t.test('nested tunnels: depth 1 delivers the inner tunnel, depth 2 strips it, deeper is dropped', (t) => {
  const [twice, thrice] = scapy([
    `${O4}/UDP(sport=50000, dport=4789)/VXLAN(vni=100)/${O4}/UDP(sport=50001, dport=4789)/VXLAN(vni=200)/${INNER}`,
    `${O4}/UDP(sport=50000, dport=4789)/VXLAN(vni=100)/${O4}/UDP(sport=50001, dport=4789)/VXLAN(vni=200)/${O4}/UDP(sport=50002, dport=4789)/VXLAN(vni=300)/${INNER}`,
  ]);
  const b1 = batchOf([twice]);
  new DecapStage().process(b1);
  t.equal(hex(b1.frame(0)), hex(twice.subarray(50)), 'depth 1: one level stripped');
  const b2 = batchOf([twice, thrice]);
  const st = new DecapStage({ maxDepth: 2 });
  st.process(b2);
  t.equal(hex(b2.frame(0)), hex(inner), 'depth 2: both levels stripped');
  t.equal(b2.vni[0], 100, 'outermost VNI recorded');
  t.equal(dropReason(b2.drop[1]), 'nested-too-deep');
  t.end();
});

t.test('GENEVE critical option that is configured as known passes', (t) => {
  const f = mutate(gen4, (g) => { g[TUN + 1] |= 0x40; g[TUN + 8 + 2] |= 0x80; });
  const b = batchOf([f]);
  new DecapStage({ geneveKnownOptions: [{ optClass: 0x0102, type: 0x85 }] }).process(b);
  t.equal(b.drop[0], 0);
  t.equal(hex(b.frame(0)), hex(inner));
  t.end();
});

t.test('IPv6 zero UDP checksum accepted with zeroCsum6Rx', (t) => {
  const b = batchOf([mutate(vx6, (f) => { f[60] = 0; f[61] = 0; })]);
  new DecapStage({ zeroCsum6Rx: true }).process(b);
  t.equal(b.drop[0], 0);
  t.end();
});

t.test('encap drop reasons', (t) => {
  const st = new EncapStage({ type: 'vxlan', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }], mtu: 100 });
  const big = new Uint8Array(100).fill(1);
  const b = batchOf([big, inner.subarray(0, 10), inner, inner], 256);
  b.outPort[3] = 5;
  const tight = batchOf([inner], 20);
  st.process(b);
  st.process(tight);
  t.equal(dropReason(b.drop[0]), 'mtu-exceeded', '100 + 50 > MTU 100');
  t.equal(dropReason(b.drop[1]), 'inner-too-short');
  t.equal(b.drop[2], 0, 'the fitting frame is encapsulated');
  t.equal(dropReason(b.drop[3]), 'bad-remote');
  t.equal(dropReason(tight.drop[0]), 'no-headroom');
  t.equal(st.counters.outFrames, 1);
  t.end();
});

t.test('every reason has a test above', (t) => {
  // Guard: adding a reason without a test fails here.
  t.equal(TUNNEL_DROPS.length, 24);
  t.equal(TunnelDrop['not-tunnel'], 1);
  t.end();
});

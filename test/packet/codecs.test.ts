/**
 * Every codec against scapy (an independent encoder): our writer must produce
 * scapy's bytes for the same fields, and our decoder must read scapy's bytes
 * back to those fields. Plus the error cases each decoder must report.
 */
import t from 'tap';
import { scapyVectors, hexBytes, toHex } from './scapy-oracle.js';
import { DecodeError } from '../../src/packet/decode-error.js';
import { EthernetState, decodeEthernet, writeEthernet, parseMac, formatMac, formatMacAt } from '../../src/packet/ethernet.js';
import { VlanState, decodeVlan, writeVlan } from '../../src/packet/vlan.js';
import { ArpState, decodeArp, writeArp } from '../../src/packet/arp.js';
import { Ipv4State, decodeIpv4, ipv4ChecksumOk, writeIpv4, parseIpv4, formatIpv4 } from '../../src/packet/ipv4.js';
import { Ipv6State, decodeIpv6, writeIpv6, parseIpv6, formatIpv6At, Ipv6Fragment } from '../../src/packet/ipv6.js';
import { UdpState, decodeUdp, writeUdp, udpFillChecksum4, udpFillChecksum6, udpChecksumOk4, udpChecksumOk6 } from '../../src/packet/udp.js';
import { VxlanState, decodeVxlan, writeVxlan } from '../../src/packet/vxlan.js';
import { NvgreState, decodeNvgre, writeNvgre } from '../../src/packet/nvgre.js';
import { TcpState, decodeTcp } from '../../src/packet/l4.js';

const V = scapyVectors();
const skip = V === null ? 'scapy (/usr/bin/python3) not available' : false;
const vec = (name: string): Uint8Array => hexBytes(V![name].hex);

t.test('ethernet: II and 802.3/SNAP, MAC words', { skip }, (t) => {
  const b = vec('eth');
  const s = new EthernetState();
  t.equal(decodeEthernet(b, 0, b.length, s), 14);
  t.equal(formatMac(s.dstHi, s.dstLo), 'a1:b2:c3:d4:e5:f6');
  t.equal(formatMac(s.srcHi, s.srcLo), '02:03:04:05:06:07');
  t.equal(s.type, 0x88b5);
  const w = new Uint8Array(18);
  const [dh, dl] = parseMac('a1:b2:c3:d4:e5:f6');
  const [sh, sl] = parseMac('02:03:04:05:06:07');
  t.equal(writeEthernet(w, 0, dh, dl, sh, sl, 0x88b5), 14);
  t.equal(toHex(w, 0, 14), toHex(b, 0, 14));
  t.equal(decodeEthernet(b, 0, 13, s), DecodeError.truncated);

  const c = vec('eth8023snap');
  t.equal(decodeEthernet(c, 0, c.length, s), 22);
  t.equal(s.length8023, 8);
  t.equal(s.dsap, 0xaa);
  t.equal(s.type, 0x2000, 'SNAP type');
  t.equal(decodeEthernet(c, 0, 18, s), DecodeError.truncated, 'SNAP cut');
  const bad = c.slice();
  bad[12] = 0x05; bad[13] = 0xf0; // 1520: neither a length nor a type
  t.equal(decodeEthernet(bad, 0, bad.length, s), DecodeError['bad-length']);
  t.end();
});

t.test('vlan: 802.1ad + 802.1Q stack, then ARP', { skip }, (t) => {
  const b = vec('qinq');
  const e = new EthernetState();
  const v = new VlanState();
  t.equal(decodeEthernet(b, 0, b.length, e), 14);
  t.equal(e.type, 0x88a8);
  t.equal(decodeVlan(b, 14, b.length, v), 4);
  t.same([v.pcp, v.dei, v.vid, v.type], [5, 1, 300, 0x8100]);
  t.equal(decodeVlan(b, 18, b.length, v), 4);
  t.same([v.pcp, v.dei, v.vid, v.type], [2, 0, 4000, 0x0806]);
  const w = new Uint8Array(8);
  writeVlan(w, 0, 5, 1, 300, 0x8100);
  writeVlan(w, 4, 2, 0, 4000, 0x0806);
  t.equal(toHex(w), toHex(b, 14, 8));
  t.equal(decodeVlan(b, 14, 17, v), DecodeError.truncated);

  const a = new ArpState();
  t.equal(decodeArp(b, 22, b.length, a), 28);
  t.equal(a.op, 2);
  t.ok(a.ethIpv4);
  t.equal(formatMac(a.shaHi, a.shaLo), '02:00:00:00:00:01');
  t.equal(formatIpv4(a.spa), '192.0.2.1');
  t.equal(formatMac(a.thaHi, a.thaLo), '02:00:00:00:00:02');
  t.equal(formatIpv4(a.tpa), '192.0.2.200');
  const wa = new Uint8Array(28);
  writeArp(wa, 0, 2, a.shaHi, a.shaLo, a.spa, a.thaHi, a.thaLo, a.tpa);
  t.equal(toHex(wa), toHex(b, 22, 28));
  t.equal(decodeArp(b, 22, 22 + 27, a), DecodeError.truncated);
  t.end();
});

t.test('ipv4: options, flags, checksum; writer matches scapy', { skip }, (t) => {
  const b = vec('ipv4opts');
  const s = new Ipv4State();
  t.equal(decodeIpv4(b, 0, b.length, s), 28, 'IHL 7 with the RR option');
  t.same([s.tos, s.id, s.mf, s.df, s.fragOffset, s.ttl, s.proto], [0xb8, 0x4321, 1, 0, 0, 33, 17]);
  t.equal(formatIpv4(s.src), '198.51.100.7');
  t.equal(formatIpv4(s.dst), '203.0.113.250');
  t.equal(s.totalLength, b.length);
  t.ok(ipv4ChecksumOk(b, 0, 28));
  const bad = b.slice();
  bad[8] ^= 1;
  t.notOk(ipv4ChecksumOk(bad, 0, 28), 'a flipped TTL bit breaks the checksum');

  const f = vec('ipv4frag');
  t.equal(decodeIpv4(f, 0, f.length, s), 20);
  t.equal(s.fragOffset, 185);
  const w = new Uint8Array(20);
  writeIpv4(w, 0, 0, s.totalLength, s.id, 185, 200, 17, parseIpv4('10.1.2.3'), parseIpv4('10.3.2.1'));
  t.equal(toHex(w), toHex(f, 0, 20), 'writer incl. checksum = scapy');

  t.equal(decodeIpv4(b, 0, 19, s), DecodeError.truncated);
  t.equal(decodeIpv4(b, 0, 27, s), DecodeError.truncated, 'options cut');
  const v6 = b.slice(); v6[0] = 0x65;
  t.equal(decodeIpv4(v6, 0, v6.length, s), DecodeError['bad-version']);
  const ihl = b.slice(); ihl[0] = 0x44;
  t.equal(decodeIpv4(ihl, 0, ihl.length, s), DecodeError['bad-header-length']);
  const tl = b.slice(); tl[2] = 0; tl[3] = 24;
  t.equal(decodeIpv4(tl, 0, tl.length, s), DecodeError['bad-length'], 'total length < header');
  t.end();
});

t.test('ipv6: extension headers skipped to the upper layer; fragments', { skip }, (t) => {
  const b = vec('ipv6ext');
  const s = new Ipv6State();
  const n = decodeIpv6(b, 0, b.length, s);
  // HBH 8 + DestOpt 8 + Routing (type 0 with one address) 24 + AH 24 (12-byte ICV).
  t.equal(n, 40 + 8 + 8 + 24 + 24);
  t.same([s.next, s.upper, s.extCount, s.hlim, s.trafficClass, s.flowLabel], [0, 17, 4, 7, 0x2e, 0xabcde]);
  t.equal(formatIpv6At(b, 8), '2001:db8::1');
  t.equal(formatIpv6At(b, 24), 'fe80::1:2');
  const u = new UdpState();
  t.equal(decodeUdp(b, n, b.length, u), 8);
  t.equal(u.dport, 4789);
  for (let cut = 40; cut < n; cut++) t.equal(decodeIpv6(b, 0, cut, s), DecodeError.truncated, `cut at ${cut}`);

  const f1 = vec('ipv6frag1');
  t.equal(decodeIpv6(f1, 0, f1.length, s), 48);
  t.same([s.fragment, s.fragOffset, s.fragMore, s.fragId, s.upper], [Ipv6Fragment.FIRST, 0, 1, 0xdeadbeef, 17]);
  const f2 = vec('ipv6frag2');
  t.equal(decodeIpv6(f2, 0, f2.length, s), 48);
  t.same([s.fragment, s.fragOffset, s.fragMore], [Ipv6Fragment.LATER, 3, 0]);

  // Writer: same fixed header as scapy's for the fragment vector.
  const addrs = new Uint8Array(32);
  parseIpv6('::1', addrs, 0);
  parseIpv6('::2', addrs, 16);
  const w = new Uint8Array(40);
  writeIpv6(w, 0, 0, 0, 16, 44, 64, addrs, 0, 16);
  t.equal(toHex(w), toHex(f2, 0, 40));

  // A chain of 9 hop-by-hop headers is refused, not walked forever.
  const chain = new Uint8Array(40 + 9 * 8);
  chain.set(f2.subarray(0, 40));
  chain[6] = 0;
  for (let i = 0; i < 9; i++) chain[40 + i * 8] = i < 8 ? 0 : 59;
  t.equal(decodeIpv6(chain, 0, chain.length, s), DecodeError['too-many-headers']);
  const v4 = f2.slice(); v4[0] = 0x45;
  t.equal(decodeIpv6(v4, 0, v4.length, s), DecodeError['bad-version']);
  t.end();
});

t.test('udp: checksums over IPv4 and IPv6 agree with scapy', { skip }, (t) => {
  for (const [name, ok, fill] of [['udp4', udpChecksumOk4, udpFillChecksum4], ['udp6', udpChecksumOk6, udpFillChecksum6]] as const) {
    const b = vec(name);
    const ipLen = name === 'udp4' ? 20 : 40;
    const s = new UdpState();
    t.equal(decodeUdp(b, ipLen, b.length, s), 8);
    t.same([s.sport, s.length], [40000, b.length - ipLen]);
    t.ok(ok(b, 0, ipLen), `${name} verifies`);
    const w = b.slice();
    writeUdp(w, ipLen, s.sport, s.dport, s.length);
    t.equal(fill(w, 0, ipLen), s.checksum, `${name} computed = scapy's`);
    t.equal(toHex(w), toHex(b));
    w[w.length - 1] ^= 0x40;
    t.notOk(ok(w, 0, ipLen), `${name} corrupted payload fails`);
  }
  const s = new UdpState();
  const short = new Uint8Array([0, 1, 0, 2, 0, 7, 0, 0]);
  t.equal(decodeUdp(short, 0, 8, s), DecodeError['bad-length']);
  t.equal(decodeUdp(short, 0, 7, s), DecodeError.truncated);
  t.end();
});

t.test('vxlan and nvgre: writer = scapy, decoder reads scapy', { skip }, (t) => {
  const x = vec('vxlan');
  const s = new VxlanState();
  t.equal(decodeVxlan(x, 0, 8, s), 8);
  t.same([s.vni, s.flags], [0xfedcba, 8]);
  const w = new Uint8Array(8);
  writeVxlan(w, 0, 0xfedcba);
  t.equal(toHex(w), toHex(x));
  t.equal(decodeVxlan(x, 0, 7, s), DecodeError.truncated);

  const g = vec('nvgre');
  const n = new NvgreState();
  t.equal(decodeNvgre(g, 0, g.length, n), 8);
  t.same([n.vsid, n.flowId], [0x765432, 0x9a]);
  writeNvgre(w, 0, 0x765432, 0x9a);
  t.equal(toHex(w), toHex(g, 0, 8));
  for (const [bit, what] of [[0x80, 'C'], [0x40, 'R'], [0x10, 'S']] as const) {
    const bad = g.slice(); bad[0] |= bit;
    t.equal(decodeNvgre(bad, 0, bad.length, n), DecodeError['bad-flags'], `${what} set`);
  }
  const noK = g.slice(); noK[0] = 0;
  t.equal(decodeNvgre(noK, 0, noK.length, n), DecodeError['bad-flags'], 'K clear');
  const ver = g.slice(); ver[1] = 1;
  t.equal(decodeNvgre(ver, 0, ver.length, n), DecodeError['bad-version']);
  t.end();
});

t.test('tcp: ports, flags, data offset', { skip }, (t) => {
  const b = vec('tcp');
  const s = new TcpState();
  t.equal(decodeTcp(b, 0, b.length, s), 24);
  t.same([s.sport, s.dport, s.seq, s.ack, s.flags, s.window], [443, 51000, 0x11223344, 0x55667788, 0x12, 0x1234]);
  t.equal(decodeTcp(b, 0, 23, s), DecodeError.truncated);
  t.end();
});

t.test('address text forms round-trip (RFC 5952)', (t) => {
  const b = new Uint8Array(16);
  for (const a of ['::', '::1', '2001:db8::1', 'fe80::1:2', '2001:db8:0:1:1:1:1:1', '2001:0:0:1::1', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8']) {
    parseIpv6(a, b);
    t.equal(formatIpv6At(b, 0), a);
  }
  t.throws(() => parseIpv6('1::2::3', b));
  t.equal(formatMacAt(Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1]), 0), 'de:ad:be:ef:00:01');
  t.same(parseMac('DE:AD:BE:EF:00:01'), [0xdead, 0xbeef0001]);
  t.end();
});

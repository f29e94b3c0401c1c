/**
 * Encap stage details the capture-level oracles do not pin down: remote VTEP
 * selection by outPort (head-end replication), batch metadata after encap,
 * IPv4 identification/checksum per packet (verified with the RFC 1071 helper),
 * entropy stable per inner flow and spread across flows, fixed vs hashed
 * NVGRE FlowID, IPv6 flow label from the hash.
 */
import t from 'tap';
import { EncapStage } from '../../src/tunnel/encap.js';
import { flowHash } from '../../src/tunnel/flow-hash.js';
import { checksumVerifies } from '../../src/packet/checksum.js';
import { NONE } from '../../src/batch/packet-batch.js';
import { scapy, batchOf, hex } from './fixtures/util.js';

const frames = scapy([
  "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1000, dport=80)/Raw(b'a'*10)",
  "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1000, dport=80)/Raw(b'b'*300)",
  "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=1001, dport=80)/Raw(b'a'*10)",
  "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2', flags='MF', frag=0)/UDP(sport=5, dport=6)/Raw(b'c'*40)",
  "Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')/IP(src='10.0.0.1', dst='10.0.0.2', frag=100, proto=17)/Raw(b'd'*40)",
]);

t.test('remote VTEP chosen by outPort; metadata describes the outer headers', (t) => {
  const st = new EncapStage({
    type: 'vxlan', vni: 3, local: '192.0.2.1',
    remotes: [{ ip: '192.0.2.10', mac: '02:00:00:00:10:10' }, { ip: '192.0.2.11', mac: '02:00:00:00:11:11' }],
  });
  const b = batchOf([frames[0], frames[0], frames[0]]);
  b.outPort[0] = NONE;
  b.outPort[1] = 1;
  b.outPort[2] = 0;
  st.process(b);
  for (let i = 0; i < 3; i++) {
    const f = b.frame(i);
    const remote = i === 1 ? 11 : 10;
    t.equal(f[14 + 19], remote, `frame ${i}: outer dst IP .${remote}`);
    t.equal(f[5], remote === 11 ? 0x11 : 0x10, `frame ${i}: outer dst MAC`);
    t.ok(checksumVerifies(f, 14, 20), `frame ${i}: IPv4 header checksum verifies`);
    t.equal(hex(f.subarray(50)), hex(frames[0]), 'inner frame intact behind the headers');
    t.equal(b.l3[i], 14);
    t.equal(b.l4[i], 34);
    t.equal(b.innerL2[i], 50);
    t.equal(b.vni[i], 3);
    t.equal(b.entropy[i], (f[34] << 8) | f[35], 'entropy = UDP source port');
  }
  const ids = [0, 1, 2].map((i) => (b.frame(i)[18] << 8) | b.frame(i)[19]);
  t.same(ids, [ids[0], ids[0] + 1, ids[0] + 2], 'IPv4 identification increments per packet');
  t.end();
});

t.test('source port: same flow -> same port (whatever the length), other flows spread', (t) => {
  const st = new EncapStage({ type: 'vxlan', vni: 3, local: '192.0.2.1', remotes: [{ ip: '192.0.2.10' }] });
  const b = batchOf([frames[0], frames[1], frames[2], frames[3], frames[4]]);
  st.process(b);
  const sport = (i: number) => (b.frame(i)[34] << 8) | b.frame(i)[35];
  t.equal(sport(0), sport(1), 'two packets of one TCP flow');
  t.not(sport(0), sport(2), 'another TCP source port');
  t.equal(sport(3), sport(4), 'first and later IPv4 fragment of one datagram (ports left out)');
  // Spread: 4096 distinct flows over the 16384-port range should hit many ports.
  const seen = new Set<number>();
  const f = Uint8Array.from(frames[0]);
  for (let k = 0; k < 4096; k++) {
    f[34] = k >> 8;
    f[35] = k & 0xff;
    seen.add(49152 + (((flowHash(f, 0, f.length) >>> 16) * 16384) >>> 16));
  }
  t.ok(seen.size > 3000, `4096 flows -> ${seen.size} distinct source ports`);
  t.end();
});

t.test('NVGRE FlowID: hashed by default, fixed when configured; IPv6 flow label from the hash', (t) => {
  const hashed = new EncapStage({ type: 'nvgre', vni: 0x123456, local: '2001:db8::1', remotes: [{ ip: '2001:db8::2' }] });
  const fixed = new EncapStage({ type: 'nvgre', vni: 0x123456, local: '2001:db8::1', remotes: [{ ip: '2001:db8::2' }], flowId: 77 });
  const a = batchOf([frames[0], frames[2]]);
  const b = batchOf([frames[0], frames[2]]);
  hashed.process(a);
  fixed.process(b);
  const h0 = flowHash(frames[0], 0, frames[0].length);
  t.equal(a.frame(0)[54 + 7], h0 & 0xff, 'FlowID = low byte of the inner-flow hash');
  t.same([b.frame(0)[61], b.frame(1)[61]], [77, 77], 'fixed FlowID');
  t.same([b.entropy[0], a.entropy[0]], [77, h0 & 0xff], 'entropy metadata = FlowID');
  const fl = (x: Uint8Array) => ((x[15] & 15) << 16) | (x[16] << 8) | x[17];
  t.equal(fl(a.frame(0)), h0 & 0xfffff, 'IPv6 flow label from the hash (RFC 6438)');
  t.equal(hex(a.frame(0).subarray(14 + 8, 14 + 24)), '20010db8000000000000000000000001', 'IPv6 source');
  t.end();
});

t.test('outer UDP checksum correct at every alignment of the inner frame and for odd lengths', async (t) => {
  const { pseudoHeaderSum6, pseudoHeaderSum4 } = await import('../../src/packet/checksum.js');
  for (const v6 of [false, true]) {
    const st = new EncapStage({ type: 'geneve', vni: 9, local: v6 ? '2001:db8::1' : '192.0.2.1', remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }], udpCsum: !v6, mtu: 9000 });
    for (const headroom of [128, 129, 130, 131]) {
      for (const size of [14, 15, 61, 64, 1399, 1400, 1401, 1403]) {
        const f = Uint8Array.from({ length: size }, (_, k) => (k * 37 + size) & 0xff);
        const b = batchOf([f], headroom);
        st.process(b);
        const o = b.frame(0);
        const ip = 14;
        const l4 = v6 ? 54 : 34;
        const ulen = o.length - l4;
        const pseudo = v6 ? pseudoHeaderSum6(o, ip + 8, ip + 24, 17, ulen) : pseudoHeaderSum4(o, ip + 12, ip + 16, 17, ulen);
        if (!checksumVerifies(o, l4, ulen, pseudo)) t.fail(`${v6 ? 'v6' : 'v4'} headroom ${headroom} size ${size}: bad UDP checksum`);
      }
    }
  }
  t.pass('all alignments and lengths verify with the RFC 1071 helper');
});

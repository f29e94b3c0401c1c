/**
 * AF_PACKET with a virtio_net_hdr (vnetHdr: true), on a veth pair across two
 * namespaces made here:
 * - TX: IPv4/UDP and IPv6/UDP frames whose UDP checksum field holds only the
 *   pseudo-header sum, sent with NEEDS_CSUM (csum_start = UDP header, offset 6)
 *   from a veth with `ethtool -K tx off`, so the kernel must finish the checksum
 *   in software; the peer (a plain AF_PACKET port, and tcpdump read by tshark)
 *   sees exactly the frame with the full checksum TypeScript computes.
 * - The same frames from a veth with tx checksumming on stay CHECKSUM_PARTIAL
 *   through veth: the peer's vnet RX reports NEEDS_CSUM with the offsets.
 * - Without vnet fields (array absent, or a zero header) a frame goes out as is.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort, VNET, VNET_FIELDS } from '../../src/ports/af-packet-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { fold16, internetChecksum, pseudoHeaderSum4, pseudoHeaderSum6, sum16 } from '../../src/packet/checksum.js';
import { makeVethPair, nsExec, startTcpdump, stopTcpdump, tcpdumpWrote, until, type VethPair } from './fixtures/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built' : false;

const MARK = 0x7a; // first payload byte of every test frame
const SPORT = 40000;
const DPORT = 4789;

interface TestFrame {
  /** What we send: UDP checksum = folded pseudo-header sum (CHECKSUM_PARTIAL form). */
  partial: Uint8Array;
  /** The same frame with the full UDP checksum (RFC 768): what must arrive. */
  full: Uint8Array;
  udpOff: number;
}

/** IPv4 or IPv6 UDP frame number `seq`, `payload` bytes of payload (odd sizes included). */
function udpFrame(v6: boolean, seq: number, payload: number): TestFrame {
  const ipLen = v6 ? 40 : 20;
  const udpOff = 14 + ipLen;
  const ulen = 8 + payload;
  const f = new Uint8Array(udpOff + ulen);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00], 0);
  const ip = 14;
  if (v6) {
    f.set([0x60, 0, 0, 0, ulen >> 8, ulen & 0xff, 17, 64], ip);
    f.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], ip + 8);
    f.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2], ip + 24);
  } else {
    const tot = 20 + ulen;
    f.set([0x45, 0, tot >> 8, tot & 0xff, seq >> 8, seq & 0xff, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2], ip);
    const c = internetChecksum(f, ip, 20);
    f[ip + 10] = c >> 8;
    f[ip + 11] = c & 0xff;
  }
  const sport = SPORT + seq;
  f.set([sport >> 8, sport & 0xff, DPORT >> 8, DPORT & 0xff, ulen >> 8, ulen & 0xff, 0, 0], udpOff);
  f[udpOff + 8] = MARK;
  for (let i = udpOff + 9; i < f.length; i++) f[i] = (i * 13 + seq * 7) & 0xff;
  const ph = v6 ? pseudoHeaderSum6(f, ip + 8, ip + 24, 17, ulen) : pseudoHeaderSum4(f, ip + 12, ip + 16, 17, ulen);
  const partial = f.slice();
  const p = fold16(ph);
  partial[udpOff + 6] = p >> 8;
  partial[udpOff + 7] = p & 0xff;
  const full = f.slice();
  let c = ~fold16(sum16(f, udpOff, ulen, ph)) & 0xffff;
  if (c === 0) c = 0xffff;
  full[udpOff + 6] = c >> 8;
  full[udpOff + 7] = c & 0xff;
  return { partial, full, udpOff };
}

/** Index of a test frame by its UDP source port, or -1. */
function seqOf(d: Uint8Array, off: number, len: number): number {
  const et = (d[off + 12] << 8) | d[off + 13];
  const u = off + 14 + (et === 0x86dd ? 40 : et === 0x0800 ? 20 : -1000);
  if (u < off || u + 9 > off + len || d[u + 8] !== MARK) return -1;
  const s = ((d[u] << 8) | d[u + 1]) - SPORT;
  return s >= 0 && s < 1000 ? s : -1;
}

/** Receive into `into` (by seq) until `n` test frames are in or the time is up; vnet fields too when the port has them. */
async function collect(rx: AfPacketPort, n: number, into: Map<number, { bytes: Buffer; vnet: number[] | null }>): Promise<void> {
  const b = new PacketBatch({ capacity: 64 });
  await until(() => {
    b.clear();
    const got = rx.receive(b);
    for (let i = 0; i < got; i++) {
      const s = seqOf(b.data, b.offset[i], b.length[i]);
      if (s < 0) continue;
      const v = rx.vnet ? Array.from(rx.vnet.subarray(i * VNET_FIELDS, (i + 1) * VNET_FIELDS)) : null;
      into.set(s, { bytes: Buffer.from(b.frame(i)), vnet: v });
    }
    return into.size >= n;
  }, 5000, `${n} test frames on the receiving port`);
}

function txOff(v: VethPair): void {
  nsExec(v.nsA, 'ethtool', ['-K', v.ifA, 'tx', 'off']);
  const k = nsExec(v.nsA, 'ethtool', ['-k', v.ifA]);
  if (!/^tx-checksumming: off/m.test(k)) throw new Error(`tx checksumming still on:\n${k}`);
}

const SIZES = [1, 2, 17, 64, 333, 1000, 1401];
/** Frames 0..6 IPv4, 7..13 IPv6, sizes as above. */
function frameSet(): TestFrame[] {
  return [...SIZES.map((p, k) => udpFrame(false, k, p)), ...SIZES.map((p, k) => udpFrame(true, SIZES.length + k, p))];
}

function batchOf(frames: Uint8Array[]): PacketBatch {
  const b = new PacketBatch({ capacity: frames.length });
  for (const f of frames) b.append(f, 0, f.length, f.length, 0, 0);
  return b;
}

t.test('vnetHdr option: the port reports it, the default stays off', { skip }, async (t) => {
  const v = makeVethPair(t);
  const a = new AfPacketPort({ interface: v.ifA, netns: v.nsA, vnetHdr: true });
  const b = new AfPacketPort({ interface: v.ifB, netns: v.nsB });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.equal(a.vnetHdr, true);
  t.equal(b.vnetHdr, false);
  const batch = new PacketBatch({ capacity: 4 });
  t.equal(a.txVnetFor(batch).length, 4 * VNET_FIELDS, 'txVnet sized for the batch');
});

t.test('NEEDS_CSUM from a veth with tx checksumming off: the kernel completes the UDP checksum (IPv4 and IPv6)', { skip }, async (t) => {
  const v = makeVethPair(t);
  txOff(v);
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, vnetHdr: true });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockTimeoutMs: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-afpv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'b.pcap');
  const dump = await startTcpdump(v.nsB, v.ifB, pcap, ['udp', 'port', String(DPORT)]);
  t.teardown(() => stopTcpdump(dump));

  const set = frameSet();
  const out = batchOf(set.map((f) => f.partial));
  for (let i = 0; i < set.length; i++) tx.setTxChecksumPartial(out, i, set[i].udpOff, 6);
  t.equal(tx.transmit(out), set.length, 'every frame accepted by the kernel');
  const got = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  await collect(rx, set.length, got);
  for (let s = 0; s < set.length; s++) {
    const have = got.get(s)!.bytes;
    const label = `${s < SIZES.length ? 'IPv4' : 'IPv6'} UDP, ${SIZES[s % SIZES.length]} B payload`;
    t.ok(!Buffer.from(set[s].partial).equals(Buffer.from(set[s].full)), `${label}: sent frame differs from the finished one (the test can fail)`);
    t.same(have.toString('hex'), Buffer.from(set[s].full).toString('hex'), `${label}: arrives with the full UDP checksum, every other byte as sent`);
  }

  // Independent oracle: tshark validates the UDP checksums of what tcpdump saw on the peer.
  await tcpdumpWrote(pcap, set.length);
  await stopTcpdump(dump);
  const lines = execFileSync('tshark', ['-r', pcap, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'udp.srcport', '-e', 'udp.checksum.status'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
  const status = new Map(lines.map((l) => l.split('\t')).map(([p, st]) => [Number(p) - SPORT, st]));
  t.same([...status.keys()].sort((a, b) => a - b), set.map((_, s) => s), 'tcpdump saw every frame');
  t.same([...new Set(status.values())], ['1'], 'tshark: every UDP checksum good (status 1)');
});

t.test('veth with tx checksumming on: the peer receives the partial checksum; its vnet RX says NEEDS_CSUM', { skip }, async (t) => {
  const v = makeVethPair(t);
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, vnetHdr: true });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockTimeoutMs: 1, vnetHdr: true });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  const set = frameSet();
  const out = batchOf(set.map((f) => f.partial));
  for (let i = 0; i < set.length; i++) tx.setTxChecksumPartial(out, i, set[i].udpOff, 6);
  t.equal(tx.transmit(out), set.length);
  const got = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  await collect(rx, set.length, got);
  for (let s = 0; s < set.length; s++) {
    const g = got.get(s)!;
    t.same(g.bytes.toString('hex'), Buffer.from(set[s].partial).toString('hex'), `frame ${s}: bytes as sent (checksum still partial)`);
    t.same(g.vnet, [VNET.F_NEEDS_CSUM, VNET.GSO_NONE, 0, 0, set[s].udpOff, 6], `frame ${s}: vnet = NEEDS_CSUM at the UDP header, offset 6`);
  }
  // 802.1Q tagged: the kernel takes the tag out (VLAN rx offload) and the port puts it back,
  // so the reported csum_start must count the tag again.
  const tagged = (f: Uint8Array) => Uint8Array.from([...f.subarray(0, 12), 0x81, 0x00, 0x00, 0x2a, ...f.subarray(12)]);
  const vl = batchOf([tagged(set[3].partial), tagged(set[10].partial)]);
  tx.setTxChecksumPartial(vl, 0, set[3].udpOff + 4, 6);
  tx.setTxChecksumPartial(vl, 1, set[10].udpOff + 4, 6);
  t.equal(tx.transmit(vl), 2);
  const gotV = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  const vlanSeq = (d: Uint8Array, o: number, len: number) => (d[o + 12] === 0x81 ? seqOf(Uint8Array.from([...d.subarray(o, o + 12), ...d.subarray(o + 16, o + len)]), 0, len - 4) : -1);
  const vb = new PacketBatch({ capacity: 64 });
  await until(() => {
    vb.clear();
    const n = rx.receive(vb);
    for (let i = 0; i < n; i++) {
      const s = vlanSeq(vb.data, vb.offset[i], vb.length[i]);
      if (s >= 0) gotV.set(s, { bytes: Buffer.from(vb.frame(i)), vnet: Array.from(rx.vnet!.subarray(i * VNET_FIELDS, (i + 1) * VNET_FIELDS)) });
    }
    return gotV.size >= 2;
  }, 5000, 'two tagged frames');
  for (const s of [3, 10]) {
    t.same(gotV.get(s)!.bytes.toString('hex'), Buffer.from(tagged(set[s].partial)).toString('hex'), `tagged frame ${s}: bytes as sent, tag restored`);
    t.same(gotV.get(s)!.vnet, [VNET.F_NEEDS_CSUM, VNET.GSO_NONE, 0, 0, set[s].udpOff + 4, 6], `tagged frame ${s}: csum_start counts the restored tag`);
  }
  // A frame sent with all-zero vnet fields is an ordinary frame: flags 0 at the peer.
  const plain = batchOf([set[2].full, set[9].full]);
  tx.txVnetFor(plain).fill(0);
  t.equal(tx.transmit(plain), 2);
  const got2 = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  await collect(rx, 2, got2);
  for (const s of [2, 9]) {
    t.same(got2.get(s)!.bytes.toString('hex'), Buffer.from(set[s].full).toString('hex'), `frame ${s} with a zero header: bytes as sent`);
    t.equal(got2.get(s)!.vnet![0] & VNET.F_NEEDS_CSUM, 0, `frame ${s} with a zero header: no NEEDS_CSUM`);
  }
});

t.test('vnet socket without a vnet array: frames go out unchanged (zero header)', { skip }, async (t) => {
  const v = makeVethPair(t);
  txOff(v); // even where the kernel would finish a partial checksum, nothing is asked
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, vnetHdr: true });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockTimeoutMs: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  t.equal(tx.txVnet, null, 'no vnet array on the port');
  const set = frameSet();
  const out = batchOf(set.map((f) => f.partial));
  t.equal(tx.transmit(out), set.length);
  const got = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  await collect(rx, set.length, got);
  let same = 0;
  for (let s = 0; s < set.length; s++) if (got.get(s)!.bytes.equals(Buffer.from(set[s].partial))) same++;
  t.equal(same, set.length, 'every frame byte-identical to what was sent (pseudo-header sum left in place)');
});

t.test('a header the kernel refuses drops that frame only; the rest of the batch goes out', { skip }, async (t) => {
  const v = makeVethPair(t);
  txOff(v);
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA, vnetHdr: true });
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockTimeoutMs: 1 });
  t.teardown(() => Promise.all([tx.close(), rx.close()]));
  const set = frameSet().slice(0, 4);
  const out = batchOf(set.map((f) => f.partial));
  for (let i = 0; i < set.length; i++) tx.setTxChecksumPartial(out, i, set[i].udpOff, 6);
  tx.setTxChecksumPartial(out, 1, 5000, 6); // csum_start beyond the frame
  t.equal(tx.transmit(out), 3, 'three of four sent');
  t.equal(tx.counters.lastTxError, 'EINVAL', 'the refusal is reported');
  const got = new Map<number, { bytes: Buffer; vnet: number[] | null }>();
  await collect(rx, 3, got);
  t.same([...got.keys()].sort(), [0, 2, 3], 'the others arrived');
  for (const s of [0, 2, 3]) t.ok(got.get(s)!.bytes.equals(Buffer.from(set[s].full)), `frame ${s} with its full checksum`);
});

/**
 * Underlay transports between two namespaces on a veth (10.88.0.1 <-> .2):
 * next-hop MAC from the kernel neighbour table (resolved on demand); UDP
 * underlay carrying VXLAN both ways, with the synthetic outer headers checked
 * by tshark; the UDP sink guard silencing ICMP port-unreachable for tunnel
 * traffic read through AF_PACKET; NVGRE over a raw IP protocol-47 socket.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { NONE, PacketBatch } from '../../src/batch/packet-batch.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { internetChecksum } from '../../src/packet/checksum.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { resolveNextHop } from '../../src/ports/neighbour.js';
import { RawIpUnderlay } from '../../src/ports/raw-ip-underlay.js';
import { TunnelPortGuard } from '../../src/ports/tunnel-port-guard.js';
import { UdpUnderlay } from '../../src/ports/udp-underlay.js';
import { inNetnsAsync, makeVethPair, nsExec, until, type Teardown, type VethPair } from './fixtures/netns.js';
import { testFrame, testSeq } from './fixtures/frames.js';
import { ip4, macBytes } from './fixtures/responder.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built' : false;
const A = '10.88.0.1';
const B = '10.88.0.2';

function underlayPair(t: Teardown): VethPair & { macB: string } {
  const v = makeVethPair(t);
  nsExec(v.nsA, 'ip', ['addr', 'add', `${A}/24`, 'dev', v.ifA]);
  nsExec(v.nsB, 'ip', ['addr', 'add', `${B}/24`, 'dev', v.ifB]);
  nsExec(v.nsB, 'sysctl', ['-qw', 'net.ipv4.icmp_ratelimit=0']);
  const macB = JSON.parse(nsExec(v.nsB, 'ip', ['-j', 'link', 'show', v.ifB]))[0].address as string;
  return { ...v, macB };
}

function tsharkFields(file: string, fields: string[]): string[][] {
  const args = ['-r', file, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=,'];
  for (const f of fields) args.push('-e', f);
  return execFileSync('tshark', args, { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(','));
}

/** VXLAN header (I flag, VNI) + test frame, as the payload of the outer UDP. */
function vxlanPayload(vni: number, seq: number): Uint8Array {
  const inner = testFrame(seq);
  const p = new Uint8Array(8 + inner.length);
  p[0] = 0x08;
  p[4] = vni >> 16; p[5] = (vni >> 8) & 255; p[6] = vni & 255;
  p.set(inner, 8);
  return p;
}

t.test('next-hop MAC comes from the neighbour table, resolved on demand', { skip }, async (t) => {
  const v = underlayPair(t);
  t.equal(nsExec(v.nsA, 'ip', ['neigh', 'show', B]).trim(), '', 'no entry yet');
  const nh = await resolveNextHop(B, { netns: v.nsA });
  t.equal(nh.mac, v.macB.toLowerCase());
  t.equal(nh.device, v.ifA);
  t.equal(nh.nextHop, B);
  await t.rejects(resolveNextHop('10.88.0.77', { netns: v.nsA, timeoutMs: 1500 }), /could not resolve the MAC of next hop 10\.88\.0\.77/);
  await t.rejects(resolveNextHop('192.0.2.1', { netns: v.nsA }), /no route to underlay destination 192\.0\.2\.1/);
});

t.test('UDP underlay: VXLAN both ways, outer headers rebuilt for decap', { skip }, async (t) => {
  const v = underlayPair(t);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-udp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ua = await inNetnsAsync(v.nsA, () => UdpUnderlay.open({ localAddress: A, port: 4789, index: 1 }));
  const ub = await inNetnsAsync(v.nsB, () => UdpUnderlay.open({ localAddress: B, port: 4789, index: 2 }));
  t.teardown(() => Promise.all([ua.close(), ub.close()]));

  const rx = new PacketBatch({ capacity: 256 });
  ub.onReadable(() => { ub.receive(rx); });
  const out = new PacketBatch({ capacity: 64 });
  for (let s = 0; s < 50; s++) {
    const p = vxlanPayload(5000 + s, s);
    const i = out.append(p, 0, p.length, p.length, 0, 0);
    out.remoteAddr[i << 2] = ip4(B); // payload-only frame: destination from remoteAddr
  }
  t.equal(ua.transmit(out), 50);
  await until(() => rx.count >= 50, 3000, 'datagrams on B');
  let bad = 0;
  for (let i = 0; i < rx.count; i++) {
    const inner = rx.offset[i] + rx.l4[i] + 16;
    const s = testSeq(rx.data, inner, rx.length[i] - rx.l4[i] - 16);
    if (rx.remoteAddr[i << 2] !== ip4(A) || rx.entropy[i] !== 4789 || rx.inPort[i] !== 2 || rx.l3[i] !== 14 || rx.l4[i] !== 34 || s !== i) bad++;
  }
  t.equal(bad, 0, 'remote address, source port, offsets and inner frames recorded');
  const file = join(dir, 'rx.pcap');
  const w = new PcapWriter(file);
  w.writeBatch(rx);
  w.close();
  const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'udp.srcport', 'udp.dstport', 'ip.checksum.status', 'vxlan.vni', 'eth.type']);
  t.equal(rows.length, 50);
  t.same(rows[0], [A, B, '4789', '4789', '1', '5000', '0x0800', '0x88b5'], 'tshark: outer IPv4 checksum good (status 1), UDP ports, VXLAN VNI, inner frame');
  t.same(rows.map((r) => r[5]), Array.from({ length: 50 }, (_, s) => String(5000 + s)));

  // Back from B: a frame as encap builds it (outer Ethernet/IPv4/UDP, l3/l4 set).
  const back = new PacketBatch({ capacity: 8 });
  const payload = vxlanPayload(42, 7);
  const f = new Uint8Array(42 + payload.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45; dv.setUint16(16, 28 + payload.length); f[22] = 64; f[23] = 17;
  dv.setUint32(26, ip4(B)); dv.setUint32(30, ip4(A));
  dv.setUint16(34, 12345); dv.setUint16(36, 4789); dv.setUint16(38, 8 + payload.length);
  f.set(payload, 42);
  const i = back.append(f, 0, f.length, f.length, 0, 0);
  back.l3[i] = 14; back.l4[i] = 34;
  const got = new PacketBatch({ capacity: 8 });
  ua.onReadable(() => { ua.receive(got); });
  t.equal(ub.transmit(back), 1);
  await until(() => got.count === 1, 3000, 'datagram on A');
  const o = got.offset[0] + got.l4[0] + 8;
  t.same(Buffer.from(got.data.subarray(o, got.offset[0] + got.length[0])), Buffer.from(payload), 'UDP payload sent from the outer headers');
  t.equal(ua.counters.rxPackets, 1);
  t.equal(ub.counters.txPackets, 1);
});

t.test('UDP sink guard stops ICMP port-unreachable for tunnel traffic', { skip }, async (t) => {
  const v = underlayPair(t);
  const pa = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  t.teardown(() => pa.close());
  const macA = JSON.parse(nsExec(v.nsA, 'ip', ['-j', 'link', 'show', v.ifA]))[0].address as string;
  const frame = (): PacketBatch => {
    const b = new PacketBatch({ capacity: 8 });
    const payload = vxlanPayload(1, 1);
    const f = new Uint8Array(42 + payload.length);
    const dv = new DataView(f.buffer);
    f.set(macBytes(v.macB), 0); f.set(macBytes(macA), 6); dv.setUint16(12, 0x0800);
    f[14] = 0x45; dv.setUint16(16, 28 + payload.length); f[22] = 64; f[23] = 17;
    dv.setUint32(26, ip4(A)); dv.setUint32(30, ip4(B));
    dv.setUint16(24, internetChecksum(f, 14, 20));
    dv.setUint16(34, 40000); dv.setUint16(36, 4789); dv.setUint16(38, 8 + payload.length);
    f.set(payload, 42);
    for (let k = 0; k < 5; k++) b.append(f, 0, f.length, f.length, 0, 0);
    return b;
  };
  const icmpUnreach = async (): Promise<number> => {
    const r = new PacketBatch({ capacity: 256 });
    await new Promise((res) => setTimeout(res, 300));
    pa.receive(r);
    let n = 0;
    for (let i = 0; i < r.count; i++) {
      const o = r.offset[i];
      if (r.view.getUint16(o + 12) === 0x0800 && r.data[o + 23] === 1 && r.data[o + 34] === 3 && r.data[o + 35] === 3) n++;
    }
    return n;
  };
  t.equal(pa.transmit(frame()), 5);
  t.ok(await icmpUnreach() >= 1, 'without a socket on 4789 the kernel answers with port-unreachable');
  const guard = new TunnelPortGuard(B, 4789, { netns: v.nsB });
  t.teardown(() => guard.close());
  t.equal(pa.transmit(frame()), 5);
  t.equal(await icmpUnreach(), 0, 'with the guard: silence');
  t.match(nsExec(v.nsB, 'ss', ['-uln']), /10\.88\.0\.2:4789/, 'guard socket bound');
});

t.test('raw IP underlay: NVGRE (protocol 47) between namespaces', { skip }, async (t) => {
  const v = underlayPair(t);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-raw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ra = new RawIpUnderlay({ localAddress: A, netns: v.nsA });
  const rb = new RawIpUnderlay({ localAddress: B, netns: v.nsB, index: 5 });
  t.teardown(() => Promise.all([ra.close(), rb.close()]));
  const rx = new PacketBatch({ capacity: 64 });
  rb.onReadable(() => { rb.receive(rx); });
  const out = new PacketBatch({ capacity: 16 });
  for (let s = 0; s < 10; s++) {
    const inner = testFrame(s);
    const p = new Uint8Array(8 + inner.length);
    p.set([0x20, 0x00, 0x65, 0x58, 0x00, 0x12, 0x34, s]); // K=1, TEB, VSID 0x001234, FlowID s
    p.set(inner, 8);
    const i = out.append(p, 0, p.length, p.length, 0, 0);
    out.remoteAddr[i << 2] = ip4(B);
  }
  t.equal(ra.transmit(out), 10);
  await until(() => rx.count >= 10, 3000, 'GRE packets on B');
  t.equal(rx.inPort[0], 5);
  t.equal(rx.remoteAddr[0], ip4(A));
  t.equal(rx.l4[0], 34, 'l4 = GRE header after Ethernet + IPv4');
  t.not(rx.l3[0], NONE);
  const file = join(dir, 'gre.pcap');
  const w = new PcapWriter(file);
  w.writeBatch(rx);
  w.close();
  const rows = tsharkFields(file, ['ip.src', 'ip.dst', 'ip.proto', 'gre.proto', 'gre.key', 'eth.type']);
  t.equal(rows.length, 10);
  t.same(rows[2], [A, B, '47', '0x6558', '0x00123402', '0x0800', '0x88b5'], 'tshark: IPv4/GRE TEB with the NVGRE key, inner frame');
});

t.test('UDP and raw underlays over IPv6: synthetic IPv6 outer headers pass tshark checks', { skip }, async (t) => {
  const v = makeVethPair(t);
  const A6 = 'fd00:88::1';
  const B6 = 'fd00:88::2';
  for (const [ns, ifn] of [[v.nsA, v.ifA], [v.nsB, v.ifB]]) nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${ifn}.disable_ipv6=0`]);
  nsExec(v.nsA, 'ip', ['addr', 'add', `${A6}/64`, 'dev', v.ifA, 'nodad']);
  nsExec(v.nsB, 'ip', ['addr', 'add', `${B6}/64`, 'dev', v.ifB, 'nodad']);
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-udp6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ua = await inNetnsAsync(v.nsA, () => UdpUnderlay.open({ localAddress: A6, port: 6081 }));
  const ub = await inNetnsAsync(v.nsB, () => UdpUnderlay.open({ localAddress: B6, port: 6081 }));
  const ra = new RawIpUnderlay({ localAddress: A6, netns: v.nsA });
  const rb = new RawIpUnderlay({ localAddress: B6, netns: v.nsB });
  t.teardown(() => Promise.all([ua.close(), ub.close(), ra.close(), rb.close()]));
  const rx = new PacketBatch({ capacity: 64 });
  const rxRaw = new PacketBatch({ capacity: 64 });
  ub.onReadable(() => { ub.receive(rx); });
  rb.onReadable(() => { rb.receive(rxRaw); });
  const out = new PacketBatch({ capacity: 8 });
  const words = new Uint32Array([0xfd000088, 0, 0, 2]);
  for (let s = 0; s < 4; s++) {
    const p = new Uint8Array(8 + 60); // GENEVE base header (no options), protocol TEB, VNI s+1
    p.set([0x00, 0x00, 0x65, 0x58, 0, 0, s + 1, 0]);
    p.set(testFrame(s * 2).subarray(0, 60), 8);
    const i = out.append(p, 0, p.length, p.length, 0, 0);
    out.remoteAddr.set(words, i << 2);
    out.flags[i] = 2; // PacketFlag.REMOTE_V6
  }
  t.equal(ua.transmit(out), 4);
  t.equal(ra.transmit(out), 4);
  await until(() => rx.count >= 4 && rxRaw.count >= 4, 3000, 'IPv6 datagrams and GRE packets on B');
  t.equal(rx.flags[0] & 2, 2, 'REMOTE_V6 set');
  t.same([...rx.remoteAddr.subarray(0, 4)], [0xfd000088, 0, 0, 1], 'sender address recorded');
  const file = join(dir, 'rx6.pcap');
  const w = new PcapWriter(file);
  w.writeBatch(rx);
  w.writeBatch(rxRaw);
  w.close();
  const rows = execFileSync('tshark', ['-r', file, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=,',
    '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'udp.dstport', '-e', 'udp.checksum.status', '-e', 'ipv6.nxt', '-e', 'geneve.vni'],
  { encoding: 'utf8' }).trim().split('\n');
  t.equal(rows.length, 8);
  t.equal(rows[1], `${A6},${B6},6081,1,17,0x000002`, 'UDP/IPv6: checksum good, GENEVE VNI');
  t.equal(rows[4].split(',').slice(0, 2).join(','), `${A6},${B6}`, 'raw IPv6: addresses rebuilt');
  t.equal(rows[4].split(',')[4], '47', 'raw IPv6: next header GRE');
});

/**
 * TAP port inside a namespace: we write ICMP echo requests to the kernel's
 * address on the TAP; the kernel ARPs for us (answered through receive() and
 * transmit()) and replies, so the round trip proves both directions. Frames we write are seen by tcpdump
 * on the TAP (read back with tshark). With IFF_VNET_HDR the header is stripped
 * and prepended. Closing removes the device we created.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { TapPort, TUN_OFFLOAD, VNET } from '../../src/ports/tap-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeNetns, nsExec, startTcpdump, stopTcpdump, tcpdumpWrote, until } from './fixtures/netns.js';
import { fillBatch, testFrame } from './fixtures/frames.js';
import { echoReplySeq, echoRequest, ip4, macBytes, makeResponder, respondArp } from './fixtures/responder.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, TAP)' : !nativeAvailable() ? 'native addon not built' : false;

for (const vnetHdr of [0, 10, 12] as const) {
  t.test(`kernel answers ARP-resolved ICMP echoes through a TAP port (vnetHdr ${vnetHdr})`, { skip }, async (t) => {
    const ns = makeNetns(t, 't');
    const ifname = `vtt${process.pid % 100000}${vnetHdr}`;
    const port = new TapPort({ interface: ifname, netns: ns, vnetHdr, index: 3 });
    t.teardown(() => port.close());
    t.equal(port.created, true, 'device created by the port');
    t.equal(port.interfaceName, ifname);
    nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
    nsExec(ns, 'ip', ['addr', 'add', '10.77.0.1/24', 'dev', ifname]);
    const link = JSON.parse(nsExec(ns, 'ip', ['-j', 'link', 'show', ifname]))[0];
    t.ok(link.flags.includes('UP'), 'link set up by the port');

    const r = makeResponder('10.77.0.2', '02:00:00:00:77:02');
    const batch = new PacketBatch({ capacity: 32 });
    const replies = new Set<number>();
    let wakeups = 0;
    let badPort = 0;
    port.onReadable(() => {
      wakeups++;
      batch.clear();
      while (port.receive(batch) > 0 && !batch.full) { /* read until EAGAIN or full */ }
      for (let i = 0; i < batch.count; i++) {
        if (batch.inPort[i] !== 3) badPort++;
        const s = echoReplySeq(batch, i, 0x4242);
        if (s >= 0) replies.add(s);
      }
      if (respondArp(r, batch) > 0) port.transmit(batch);
    });
    const out = new PacketBatch({ capacity: 8 });
    const tapMac = macBytes(link.address);
    for (let seq = 1; seq <= 5; seq++) {
      const f = echoRequest(tapMac, r.mac, r.ip, ip4('10.77.0.1'), 0x4242, seq);
      out.append(f, 0, f.length, f.length, 0, 0);
    }
    t.equal(port.transmit(out), 5, 'five echo requests written in one call');
    await until(() => replies.size === 5, 5000, 'echo replies from the kernel');
    t.same([...replies].sort(), [1, 2, 3, 4, 5], 'the kernel answered every echo request');
    t.ok(r.arpReplies >= 1, 'kernel ARP request read and answered');
    t.equal(badPort, 0, 'inPort set on every frame');
    t.ok(wakeups >= 1, 'readiness callback fired');
    if (vnetHdr !== 0) {
      t.ok(port.vnet instanceof Uint16Array, 'vnet header fields exposed');
      t.equal(port.vnet![1], 0, 'no GSO without offloads');
    }
    t.equal(port.counters.txPackets, 5 + r.arpReplies, 'tx counter = frames written');
    t.ok(port.counters.rxPackets >= 6, 'rx counter counts ARP request and replies');
  });
}

t.test('frames written to a TAP are seen by tcpdump on it; close removes the device', { skip }, async (t) => {
  const ns = makeNetns(t, 'w');
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-tap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = new TapPort({ netns: ns });
  t.teardown(() => port.close());
  t.match(port.interfaceName, /^tap\d+$/, 'kernel-chosen name');
  nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${port.interfaceName}.disable_ipv6=1`]);
  const pcap = join(dir, 'tap.pcap');
  const dump = await startTcpdump(ns, port.interfaceName, pcap, []);
  t.teardown(() => stopTcpdump(dump));
  const b = new PacketBatch({ capacity: 64 });
  fillBatch(b, 0, 64);
  b.drop[10] = 4;
  t.equal(port.transmit(b), 63, 'alive frames written in one call');
  await tcpdumpWrote(pcap, 63);
  await stopTcpdump(dump);
  const lens = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim().split('\n').map(Number);
  const want = Array.from({ length: 64 }, (_, s) => testFrame(s).length).filter((_, s) => s !== 10);
  t.same(lens, want, 'tcpdump on the TAP saw the 63 frames, in order');
  const name = port.interfaceName;
  await port.close();
  t.throws(() => nsExec(ns, 'ip', ['link', 'show', name]), 'device gone after close');
  t.equal(port.transmit(b), 0, 'transmit after close sends nothing');
  t.equal(port.counters.lastTxError, 'EBADF');
});

t.test('vnet header with checksum offload: the kernel hands TCP with NEEDS_CSUM and its offsets', { skip }, async (t) => {
  const ns = makeNetns(t, 'v');
  const ifname = `vtv${process.pid % 100000}`;
  const port = new TapPort({ interface: ifname, netns: ns, vnetHdr: 10, offloads: TUN_OFFLOAD.csum });
  t.teardown(() => port.close());
  nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${ifname}.disable_ipv6=1`]);
  nsExec(ns, 'ip', ['addr', 'add', '10.78.0.1/24', 'dev', ifname]);
  const r = makeResponder('10.78.0.2', '02:00:00:00:78:02');
  const b = new PacketBatch({ capacity: 32 });
  let syn: number[] | null = null;
  port.onReadable(() => {
    b.clear();
    port.receive(b);
    for (let i = 0; i < b.count && syn === null; i++) {
      const o = b.offset[i];
      if (b.view.getUint16(o + 12) === 0x0800 && b.data[o + 23] === 6) syn = Array.from(port.vnet!.subarray(i * 6, i * 6 + 6));
    }
    if (respondArp(r, b) > 0) port.transmit(b);
  });
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e',
    "const s=require('net').connect(80,'10.78.0.2');s.on('error',()=>{});setTimeout(()=>process.exit(0),3000)"], { stdio: 'ignore' });
  t.teardown(() => { child.kill(); });
  await until(() => syn !== null, 5000, 'a TCP SYN from the kernel');
  const [flags, gsoType, , , csumStart, csumOffset] = syn!;
  t.equal(flags & VNET.F_NEEDS_CSUM, VNET.F_NEEDS_CSUM, 'NEEDS_CSUM: the checksum is left to us');
  t.equal(gsoType, VNET.GSO_NONE);
  t.equal(csumStart, 34, 'checksum starts at the TCP header (14 + 20)');
  t.equal(csumOffset, 16, 'TCP checksum field offset');
});

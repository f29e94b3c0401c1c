/**
 * AF_XDP attach and filters: every refusal says why (no interface, queue out of
 * range, no native XDP, no zero-copy, someone else's program, a live vtepd, no
 * privilege) and leaves nothing attached; a leftover vtepd program is replaced;
 * the filter gives vtepd only its frames (VLANs, tunnel traffic) and the rest
 * still reaches the kernel; one socket per RX queue on a multi-queue veth.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { AfXdpPort } from '../../src/ports/af-xdp-port.js';
import { xskObjectPath } from '../../src/native/af-xdp-native.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeNetns, makeVethPair, nsExec, sh, until } from './fixtures/netns.js';
import { fillBatch, testFrame } from './fixtures/frames.js';
import { ethtoolStat, foreignXdpObject, xdpProgOn } from './fixtures/xdp.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !nativeAvailable() ? 'native addon not built' : false;
const DIST = fileURLToPath(new URL('../../dist/src/ports/af-xdp-port.js', import.meta.url));

t.test('refusals name the reason and leave nothing attached', { skip }, async (t) => {
  const v = makeVethPair(t);
  t.throws(() => new AfXdpPort({ interface: 'nope0', netns: v.nsB }), { code: 'ENODEV', message: /no such interface 'nope0'/ });
  t.throws(() => new AfXdpPort({ interface: v.ifB, netns: v.nsB, queue: 3 }), { code: 'EINVAL', message: /queue 3 is out of range: the interface has 1 queue\(s\)/ });
  t.equal(xdpProgOn(v.nsB, v.ifB), null, 'a failed open detaches the program again');
  t.throws(() => new AfXdpPort({ interface: v.ifB, netns: v.nsB, mode: 'zerocopy' }), { code: 'EOPNOTSUPP', message: /zerocopy mode.*no AF_XDP zero-copy/ });
  t.equal(xdpProgOn(v.nsB, v.ifB), null);
  // A software device without a native XDP hook (loopback): native is refused with the way out, auto falls back.
  t.throws(() => new AfXdpPort({ interface: 'lo', netns: v.nsB, xdpMode: 'native' }), { message: /cannot attach the XDP program: native: EOPNOTSUPP.*xdpMode generic works on any driver/ });
  const lo = new AfXdpPort({ interface: 'lo', netns: v.nsB, xdpMode: 'auto' });
  t.match(lo.details(), { xdpMode: 'generic', nativeError: /EOPNOTSUPP/ }, 'auto: generic XDP, and why not native');
  await lo.close();
  t.equal(xdpProgOn(v.nsB, 'lo'), null);

  // Someone else's program: refused, and the command in the message removes it.
  const foreign = foreignXdpObject();
  if (foreign === null) t.comment('skipped: libxdp program objects not installed');
  else {
    nsExec(v.nsB, 'ip', ['link', 'set', 'dev', v.ifB, 'xdpgeneric', 'obj', foreign, 'sec', 'xdp']);
    let msg = '';
    t.throws(() => { try { new AfXdpPort({ interface: v.ifB, netns: v.nsB }); } catch (e) { msg = (e as Error).message; throw e; } },
      { code: 'EBUSY', message: /already has XDP program 'xsk_def_prog' \(id \d+, generic\), which is not vtepd's: vtepd will not replace it; remove it with `ip link set dev \S+ xdpgeneric off`/ });
    t.match(xdpProgOn(v.nsB, v.ifB), { name: 'xsk_def_prog' }, 'and left in place');
    const cmd = /`ip (.*)`/.exec(msg)![1].split(' ');
    nsExec(v.nsB, 'ip', cmd);
    const p = new AfXdpPort({ interface: v.ifB, netns: v.nsB });
    t.equal(p.details().replaced, null, 'opens once it is gone');
    await p.close();
  }

  // This process already has an AF_XDP port there: one per interface, said as such.
  const live = new AfXdpPort({ interface: v.ifB, netns: v.nsB });
  t.teardown(() => live.close());
  t.throws(() => new AfXdpPort({ interface: v.ifB, netns: v.nsB }), { code: 'EBUSY', message: /already has an AF_XDP port of this vtepd .*restart vtepd to change its options/ });
  await live.close();

  // Another live process holds it through its bpf_link; once that process is killed (-9), the kernel frees it.
  if (existsSync(DIST)) {
    const holder = spawn('ip', ['netns', 'exec', v.nsB, process.execPath, '-e',
      `import(${JSON.stringify(DIST)}).then((m) => { new m.AfXdpPort({ interface: ${JSON.stringify(v.ifB)} }); console.log('ready'); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => { holder.kill('SIGKILL'); });
    await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); }));
    t.throws(() => new AfXdpPort({ interface: v.ifB, netns: v.nsB }), { code: 'EBUSY', message: /'vtepd_xsk'.*held by a live process: another vtepd is using this interface \(`bpftool link show` names it\)/ });
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    await until(() => xdpProgOn(v.nsB, v.ifB) === null, 2000, 'the kernel to drop the killed holder\'s program');
    const after = new AfXdpPort({ interface: v.ifB, netns: v.nsB });
    t.equal(after.details().replaced, null, 'after kill -9 of the holder: nothing left over, the port opens');
    await after.close();
  }

  // No privilege: the same open as an unprivileged user (needs the built dist/).
  if (!existsSync(DIST)) t.comment('skipped: npm run build first (the unprivileged child runs dist/)');
  else {
    const code = `import(${JSON.stringify(DIST)}).then((m) => { try { new m.AfXdpPort({ interface: ${JSON.stringify(v.ifB)} }); console.log('opened'); } catch (e) { console.log(e.message); } })`;
    const r = spawnSync('ip', ['netns', 'exec', v.nsB, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '-e', code], { encoding: 'utf8' });
    t.match(r.stdout, /needs root, or CAP_NET_ADMIN \+ CAP_BPF/, `unprivileged: ${r.stdout.trim()}`);
    t.equal(xdpProgOn(v.nsB, v.ifB), null);
  }
});

t.test('a leftover vtepd program (netlink-attached, owner gone) is replaced and reported', { skip }, async (t) => {
  const v = makeVethPair(t);
  nsExec(v.nsB, 'ip', ['link', 'set', 'dev', v.ifB, 'xdpdrv', 'obj', xskObjectPath(), 'sec', 'xdp']);
  const old = xdpProgOn(v.nsB, v.ifB)!;
  t.equal(old.name, 'vtepd_xsk');
  const p = new AfXdpPort({ interface: v.ifB, netns: v.nsB });
  t.equal(p.details().replaced, `vtepd_xsk id ${old.id} (native)`);
  const now = xdpProgOn(v.nsB, v.ifB)!;
  t.not(now.id, old.id, 'a new program is attached in its place');
  // It works: frames reach the socket.
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  const out = new PacketBatch({ capacity: 8 });
  fillBatch(out, 0, 8);
  tx.transmit(out);
  const b = new PacketBatch({ capacity: 16 });
  await until(() => { p.receive(b); return b.count >= 8; }, 3000, 'frames');
  await Promise.all([p.close(), tx.close()]);
  t.equal(xdpProgOn(v.nsB, v.ifB), null, 'and nothing is left after close');
});

/** Ethernet + IPv4/IPv6 + UDP/GRE frame to `dst`, with a marker byte at the end. */
function ipFrame(v6: boolean, dst: string, proto: 17 | 47, dport: number, mark: number): Uint8Array {
  const f = new Uint8Array(v6 ? 100 : 80);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00]);
  let l4: number;
  if (v6) {
    f[14] = 0x60; f[18] = 0; f[19] = f.length - 54; f[20] = proto; f[21] = 64;
    f.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1], 22);
    const last = Number.parseInt(dst.split(':').pop()!, 16);
    f.set([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), last], 38);
    l4 = 54;
  } else {
    f[14] = 0x45; f[16] = 0; f[17] = f.length - 14; f[22] = 64; f[23] = proto;
    f.set([192, 0, 2, 1], 26);
    f.set(dst.split('.').map(Number), 30);
    l4 = 34;
  }
  if (proto === 17) { f[l4] = 0x30; f[l4 + 2] = dport >> 8; f[l4 + 3] = dport & 0xff; f[l4 + 5] = f.length - l4; }
  else { f[l4 + 2] = 0x65; f[l4 + 3] = 0x58; }
  f[f.length - 1] = mark;
  return f;
}

async function deliver(t: Test, tx: AfPacketPort, xsk: AfXdpPort, watch: AfPacketPort, frames: Uint8Array[], expect: number): Promise<{ xsk: number[]; kernel: number[] }> {
  const out = new PacketBatch({ capacity: frames.length });
  for (const f of frames) out.append(f, 0, f.length, f.length, 0, 0);
  t.equal(tx.transmit(out), frames.length);
  const got = { xsk: [] as number[], kernel: [] as number[] };
  const b = new PacketBatch({ capacity: 256 });
  const tag = (f: Uint8Array) => (f[12] === 0x81 ? -1000 - ((f[14] << 8 | f[15]) & 0xfff) : f[f.length - 1]);
  await until(() => {
    b.clear(); xsk.receive(b); for (let i = 0; i < b.count; i++) got.xsk.push(tag(b.frame(i)));
    b.clear(); watch.receive(b); for (let i = 0; i < b.count; i++) got.kernel.push(tag(b.frame(i)));
    return got.xsk.length + got.kernel.length >= expect;
  }, 3000, 'frames on either side');
  await new Promise((r) => setTimeout(r, 50));
  b.clear(); xsk.receive(b); t.equal(b.count, 0, 'nothing more');
  return got;
}

t.test('filters: the socket takes its VLANs or its tunnel traffic, the kernel keeps the rest', { skip }, async (t) => {
  const v = makeVethPair(t);
  const tx = new AfPacketPort({ interface: v.ifA, netns: v.nsA });
  const watch = new AfPacketPort({ interface: v.ifB, netns: v.nsB, blockTimeoutMs: 1 }); // sees what the kernel gets
  const xsk = new AfXdpPort({ interface: v.ifB, netns: v.nsB, filter: { mode: 'vlans', vlans: [5, 4094], untagged: false } });
  t.teardown(() => Promise.all([tx.close(), watch.close(), xsk.close()]));
  const tagged = (vid: number, mark: number) => { const f = testFrame(mark); const g = new Uint8Array(f.length + 4); g.set(f.subarray(0, 12)); g.set([0x81, 0, vid >> 8, vid & 0xff], 12); g.set(f.subarray(12), 16); g[g.length - 1] = mark; return g; };
  let got = await deliver(t, tx, xsk, watch, [tagged(5, 1), tagged(6, 2), testFrame(0), tagged(4094, 4)], 4);
  t.same(got.xsk.sort(), [-1005, -5094].sort(), 'VLANs 5 and 4094 to the socket');
  t.equal(got.kernel.length, 2, 'VLAN 6 and the untagged frame to the kernel');
  xsk.setFilter({ mode: 'vlans', vlans: [], untagged: true });
  got = await deliver(t, tx, xsk, watch, [tagged(5, 1), testFrame(0)], 2);
  t.equal(got.xsk.length, 1, 'untagged only, after setFilter');

  xsk.setFilter({ mode: 'tunnel', udpPorts: [4789, 6081], gre: false, address: '192.0.2.2' });
  got = await deliver(t, tx, xsk, watch, [
    ipFrame(false, '192.0.2.2', 17, 4789, 10), ipFrame(false, '192.0.2.2', 17, 6081, 11), ipFrame(false, '192.0.2.2', 17, 4790, 12),
    ipFrame(false, '192.0.2.9', 17, 4789, 13), ipFrame(false, '192.0.2.2', 47, 0, 14),
  ], 5);
  t.same(got.xsk.sort(), [10, 11], 'UDP to our address on a tunnel port');
  t.same(got.kernel.sort(), [12, 13, 14], 'other port, other address, GRE (not enabled): the kernel');
  xsk.setFilter({ mode: 'tunnel', udpPorts: [], gre: true, address: '2001:db8::2' });
  got = await deliver(t, tx, xsk, watch, [ipFrame(true, '2001:db8::2', 47, 0, 20), ipFrame(true, '2001:db8::3', 47, 0, 21), ipFrame(true, '2001:db8::2', 17, 4789, 22), ipFrame(false, '192.0.2.2', 47, 0, 23)], 4);
  t.same(got.xsk, [20], 'IPv6: GRE to our address only');
  t.same(got.kernel.sort(), [21, 22, 23]);
  xsk.pollStats();
  const d = xsk.details();
  t.equal(d.xdpTaken, 2 + 1 + 2 + 1, "the program's counters agree");
  t.equal(d.xdpPassed, 2 + 1 + 3 + 3);
  t.throws(() => xsk.setFilter({ mode: 'tunnel', udpPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9], gre: false }), /at most 8/);
});

t.test('multi-queue veth: one socket per queue, frames from every queue received', { skip }, async (t) => {
  const nsA = makeNetns(t, 'a');
  const nsB = makeNetns(t, 'b');
  const [ifA, ifB] = [`vqa${process.pid % 100000}`, `vqb${process.pid % 100000}`];
  sh('ip', ['link', 'add', ifA, 'netns', nsA, 'numtxqueues', '2', 'numrxqueues', '2', 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB, 'numtxqueues', '2', 'numrxqueues', '2']);
  for (const [ns, ifn] of [[nsA, ifA], [nsB, ifB]]) {
    nsExec(ns, 'sysctl', ['-qw', `net.ipv6.conf.${ifn}.disable_ipv6=1`]); // a quiet link: only our frames
    nsExec(ns, 'ip', ['link', 'set', ifn, 'up']);
  }
  const rx = new AfXdpPort({ interface: ifB, netns: nsB });
  const tx = new AfPacketPort({ interface: ifA, netns: nsA });
  t.teardown(() => Promise.all([rx.close(), tx.close()]));
  t.equal(rx.details().queues, '0,1', 'queue: all binds both queues');
  const N = 200;
  const out = new PacketBatch({ capacity: N });
  for (let k = 0; k < N; k++) { const f = ipFrame(false, '192.0.2.2', 17, 1000 + k, k); f[34] = k; f[35] = k * 7; out.append(f, 0, f.length, f.length, 0, 0); }
  t.equal(tx.transmit(out), N);
  const b = new PacketBatch({ capacity: 256 });
  await until(() => { rx.receive(b); return b.count >= N; }, 3000, 'all frames');
  const q0 = ethtoolStat(nsB, ifB, 'rx_queue_0_xdp_redirect');
  const q1 = ethtoolStat(nsB, ifB, 'rx_queue_1_xdp_redirect');
  t.equal(q0 + q1, N, `veth: ${q0} frames on queue 0, ${q1} on queue 1`);
  t.ok(q0 > 0 && q1 > 0, 'both queues carried traffic');
  t.equal(b.count, N, 'and the port got every one of them');
});

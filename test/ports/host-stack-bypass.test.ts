/**
 * The host-stack bypass (tcx ingress program on an AF_PACKET underlay): tunnel
 * frames to the underlay address still reach vtepd's packet socket, and no
 * longer reach the host's UDP stack; everything else does. The oracles are the
 * receiving AF_PACKET socket and the namespace's own UDP counters
 * (/proc/net/snmp: NoPorts counts each datagram the stack routed to a port
 * nobody listens on). Also: the filter follows setFilter, close() and a killed
 * holder both detach the program, and bad options are refused with a reason.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { HostStackBypass } from '../../src/ports/host-stack-bypass.js';
import { bypassObjectPath } from '../../src/native/stack-bypass-native.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeVethPair, nsExec, until, type VethPair } from './fixtures/netns.js';

const DIST = fileURLToPath(new URL('../../dist/src/ports/host-stack-bypass.js', import.meta.url));
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)'
  : !nativeAvailable() ? 'native addon not built'
    : !existsSync(bypassObjectPath()) ? 'eBPF objects not built (npm run build:native needs clang and bpftool)' : false;

const A = '192.0.2.1';
const B = '192.0.2.2';

function addressed(t: Parameters<typeof makeVethPair>[0]): VethPair {
  const v = makeVethPair(t);
  nsExec(v.nsA, 'ip', ['addr', 'add', `${A}/24`, 'dev', v.ifA]);
  nsExec(v.nsB, 'ip', ['addr', 'add', `${B}/24`, 'dev', v.ifB]);
  return v;
}

/** The UDP counters of the namespace's own stack. */
function udp(ns: string): { inDatagrams: number; noPorts: number } {
  const lines = nsExec(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  const get = (k: string) => Number(values[names.indexOf(k)]);
  return { inDatagrams: get('InDatagrams'), noPorts: get('NoPorts') };
}

/** `n` UDP datagrams from namespace A to `dst`:`port`, sent by the kernel's own UDP socket. */
function send(v: VethPair, port: number, n: number, dst = B): void {
  nsExec(v.nsA, 'python3', ['-c', `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(${n}): s.sendto(b'v'*40, ('${dst}', ${port}))`]);
}

/** UDP datagrams to `port` that `rx` holds now (IPv4, no options). */
function received(rx: AfPacketPort, port: number): number {
  let hits = 0;
  const b = new PacketBatch({ capacity: 256 });
  for (;;) {
    b.clear();
    const n = rx.receive(b);
    for (let i = 0; i < n; i++) {
      const o = b.offset[i];
      const d = b.data;
      if (d[o + 12] === 0x08 && d[o + 13] === 0x00 && d[o + 23] === 17 && ((d[o + 36] << 8) | d[o + 37]) === port) hits++;
    }
    if (n < b.capacity) return hits;
  }
}

/** Runs `fn` and returns how the namespace's NoPorts moved. */
function noPortsDuring(ns: string, fn: () => void): number {
  const before = udp(ns).noPorts;
  fn();
  return udp(ns).noPorts - before;
}

t.test('tunnel frames reach vtepd\'s socket and no longer the host stack; the rest still does', { skip }, async (t) => {
  const v = addressed(t);
  const rx = new AfPacketPort({ interface: v.ifB, netns: v.nsB });
  t.teardown(() => rx.close());
  send(v, 4789, 2); // ARP resolved before anything is counted
  received(rx, 4789);

  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 20)), 20, 'without the bypass the stack routes every tunnel datagram to the port');
  t.equal(received(rx, 4789), 20, 'and the packet socket has them too');

  const bypass = HostStackBypass.open(v.ifB, { udpPorts: [4789], gre: false, address: B }, { netns: v.nsB });
  t.teardown(() => bypass.close());
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 50)), 0, 'with it, none reaches the stack');
  t.equal(received(rx, 4789), 50, 'and the packet socket still has every one (it taps before tc ingress)');
  t.equal(bypass.counters().dropped, 50, 'counted as dropped');

  t.equal(noPortsDuring(v.nsB, () => send(v, 5555, 10)), 10, 'another UDP port still reaches the stack');
  t.ok(bypass.counters().passed >= 10, `counted as passed (${bypass.counters().passed})`);

  bypass.setFilter({ udpPorts: [5555], gre: false, address: B });
  t.equal(noPortsDuring(v.nsB, () => send(v, 5555, 10)), 0, 'setFilter: the new port is kept from the stack');
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 5)), 5, 'and the old one reaches it again');
  t.equal(bypass.counters().dropped, 60);

  bypass.close();
  t.equal(noPortsDuring(v.nsB, () => send(v, 5555, 5)), 5, 'close() detaches the program');
  t.same(bypass.counters(), { dropped: 0, passed: 0 }, 'a closed bypass counts nothing');
});

t.test('only traffic to the underlay address is taken', { skip }, async (t) => {
  const v = addressed(t);
  nsExec(v.nsB, 'ip', ['addr', 'add', '192.0.2.3/24', 'dev', v.ifB]);
  const bypass = HostStackBypass.open(v.ifB, { udpPorts: [4789], gre: false, address: B }, { netns: v.nsB });
  t.teardown(() => bypass.close());
  send(v, 4789, 1, '192.0.2.3');
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 10, '192.0.2.3')), 10, 'another local address of the host: left to the stack');
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 10)), 0, 'the underlay address: taken');
});

t.test('a killed holder leaves nothing attached', { skip: skip || (!existsSync(DIST) ? 'npm run build first (the holder runs dist/)' : false) }, async (t) => {
  const v = addressed(t);
  send(v, 4789, 1);
  const holder = spawn('ip', ['netns', 'exec', v.nsB, process.execPath, '-e',
    `import(${JSON.stringify(DIST)}).then((m) => { m.HostStackBypass.open(${JSON.stringify(v.ifB)}, { udpPorts: [4789], gre: false, address: ${JSON.stringify(B)} }); console.log('ready'); setInterval(() => {}, 1000); })`],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { holder.kill('SIGKILL'); });
  await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); }));
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 10)), 0, 'the holder\'s program takes the tunnel frames');
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  // The link goes with the killed process's last reference; the kernel frees it shortly after.
  await until(() => noPortsDuring(v.nsB, () => send(v, 4789, 1)) === 1, 2000, 'the tunnel frames to reach the stack again');
  t.pass('after kill -9 the program is gone');
});

t.test('bad options are refused with the reason', { skip }, async (t) => {
  const v = addressed(t);
  const open = (f: object, iface = v.ifB) => HostStackBypass.open(iface, f as never, { netns: v.nsB });
  t.throws(() => open({ udpPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9], gre: false, address: B }), { name: 'RangeError', message: /at most 8 tunnel UDP ports/ });
  t.throws(() => open({ udpPorts: [0], gre: false, address: B }), { name: 'RangeError', message: /UDP ports are 1\.\.65535/ });
  t.throws(() => open({ udpPorts: [4789], gre: false, address: 'not-an-ip' }), { message: /filter\.address is not an IP address: not-an-ip/ });
  t.throws(() => open({ udpPorts: [4789], gre: false, address: B }, 'nosuchif0'), { message: /nosuchif0/ });
  const saved = process.env.VTEPD_BPF_DIR;
  process.env.VTEPD_BPF_DIR = '/nonexistent-vtepd-bpf';
  try {
    t.throws(() => open({ udpPorts: [4789], gre: false, address: B }), { code: 'ENOENT', message: /cannot open the eBPF object .*run npm run build:native/ });
  } finally {
    if (saved === undefined) delete process.env.VTEPD_BPF_DIR;
    else process.env.VTEPD_BPF_DIR = saved;
  }
  // Nothing was left attached by the refused opens.
  t.equal(noPortsDuring(v.nsB, () => send(v, 4789, 3)), 3);
});

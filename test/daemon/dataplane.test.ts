/**
 * The data path wiring without a network: in-memory ports feed the Dataplane
 * built from a real config; outputs are checked byte by byte against the
 * header layouts of RFC 7348 / RFC 8926 (parsed here, independently of the
 * codecs), and through the FDB the control API shows.
 */
import t from 'tap';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { validateConfig } from '../../src/config/config-load.js';
import { fdbEntries, statsSnapshot } from '../../src/daemon/snapshot.js';
import { PortCounters } from '../../src/ports/counters.js';
import type { Port } from '../../src/ports/port.js';
import { Dataplane } from '../../src/pipeline/dataplane.js';
import { UNDERLAY_INDEX_BASE, type LocalDevice } from '../../src/pipeline/open-ports.js';
import { EncapStage } from '../../src/tunnel/encap.js';

class MemPort implements Port {
  readonly kind = 'pcap' as const;
  readonly payload = 'ethernet' as const;
  readonly counters = new PortCounters();
  inbox: Uint8Array[] = [];
  sent: Uint8Array[] = [];
  constructor(readonly name: string, readonly index: number) {}
  receive(b: PacketBatch): number {
    let n = 0;
    while (this.inbox.length > 0 && !b.full) {
      const f = this.inbox.shift()!;
      b.append(f, 0, f.length, f.length, 0, 0, this.index);
      n++;
    }
    this.counters.rxPackets += n;
    return n;
  }
  transmit(b: PacketBatch, start = 0, count = b.count - start): number {
    let n = 0;
    for (let i = start; i < start + count; i++) if (b.drop[i] === 0) { this.sent.push(Uint8Array.from(b.frame(i))); n++; }
    this.counters.txPackets += n;
    return n;
  }
  onReadable(): void {}
  pollStats(): void {}
  async close(): Promise<void> {}
}

const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
function ethFrame(dst: string, src: string, len = 64): Uint8Array {
  const f = new Uint8Array(len);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  f[12] = 0x88; f[13] = 0xb5;
  for (let i = 14; i < len; i++) f[i] = i;
  return f;
}
const ip4 = (f: Uint8Array, o: number) => `${f[o]}.${f[o + 1]}.${f[o + 2]}.${f[o + 3]}`;

function build(networks: unknown[]) {
  const cfg = validateConfig({
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'afpacket' },
    ports: [{ name: 'vm1', backend: 'pcap', writeFile: '/dev/null' }, { name: 'vm2', backend: 'pcap', writeFile: '/dev/null' }],
    networks,
  });
  const vm1 = new MemPort('vm1', 0);
  const vm2 = new MemPort('vm2', 1);
  const ul = new MemPort('ul0', UNDERLAY_INDEX_BASE);
  const devices: LocalDevice[] = [vm1, vm2].map((p) => ({ key: p.name, port: p, iface: p.name, backend: 'pcap', members: [{ name: p.name, vlan: 0 }] }));
  const dp = new Dataplane({
    cfg, devices, underlay: { key: 'ul', ports: [ul], txFor: () => ul, guards: [] },
    remoteMacs: new Map([['192.0.2.2', '02:00:00:00:ff:02'], ['192.0.2.3', '02:00:00:00:ff:03']]), localMac: '02:00:00:00:ff:01',
  });
  return { dp, vm1, vm2, ul };
}

t.test('a broadcast is flooded to the other port and replicated to every remote (VXLAN)', (t) => {
  const { dp, vm1, vm2, ul } = build([{ vni: 100, type: 'vxlan', ports: ['vm1', 'vm2'], remotes: ['192.0.2.2', '192.0.2.3'] }]);
  const f = ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:11');
  vm1.inbox.push(f);
  t.equal(dp.handle(vm1), 1);
  t.same(vm2.sent, [f], 'local copy unchanged');
  t.equal(vm1.sent.length, 0, 'never back out of the ingress port');
  t.equal(ul.sent.length, 2, 'one copy per remote VTEP');
  t.same(ul.sent.map((o) => ip4(o, 30)).sort(), ['192.0.2.2', '192.0.2.3'], 'outer IPv4 destinations');
  for (const o of ul.sent) {
    t.same([...o.subarray(6, 12)], mac('02:00:00:00:ff:01'), 'outer source MAC = underlay MAC');
    t.same([...o.subarray(0, 6)], mac(ip4(o, 30) === '192.0.2.2' ? '02:00:00:00:ff:02' : '02:00:00:00:ff:03'), 'outer destination = next-hop MAC');
    t.equal((o[12] << 8) | o[13], 0x0800);
    t.equal(o[23], 17, 'UDP');
    t.equal(ip4(o, 26), '192.0.2.1');
    t.equal((o[36] << 8) | o[37], 4789, 'VXLAN port');
    t.equal(o[42] & 0x08, 0x08, 'VXLAN I flag');
    t.equal((o[46] << 16) | (o[47] << 8) | o[48], 100, 'VNI');
    t.same([...o.subarray(50)], [...f], 'inner frame intact');
  }
  const s = statsSnapshot(dp, Date.now());
  t.match(s.networks[0], { vni: 100, flooded: 1, unicast: 0, learned: 1, fdbEntries: 1 });
  t.match(fdbEntries(dp), [{ vni: 100, mac: '02:00:00:00:00:11', port: 'vm1', remote: null, static: false }]);
  t.end();
});

t.test('decap learns the remote; unicast then goes to that remote only; type mismatch is dropped', (t) => {
  const { dp, vm1, vm2, ul } = build([
    { vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2', '192.0.2.3'] },
    { vni: 200, type: 'geneve', ports: ['vm2'], remotes: ['192.0.2.2'] },
  ]);
  // What 192.0.2.2 would send us, built by a VTEP there.
  const remoteVtep = (type: 'vxlan' | 'geneve', vni: number, inner: Uint8Array): Uint8Array => {
    const b = new PacketBatch({ capacity: 1 });
    b.append(inner, 0, inner.length, inner.length, 0, 0);
    new EncapStage({ type, vni, local: '192.0.2.2', remotes: [{ ip: '192.0.2.1', mac: '02:00:00:00:ff:01' }] }).process(b);
    return Uint8Array.from(b.frame(0));
  };
  const inner = ethFrame('02:00:00:00:00:11', '02:00:00:00:00:22');
  ul.inbox.push(remoteVtep('vxlan', 100, inner));
  ul.inbox.push(remoteVtep('geneve', 100, inner)); // VNI 100 is a VXLAN network: wrong type
  ul.inbox.push(remoteVtep('vxlan', 200, inner)); // VNI 200 is a GENEVE network: wrong type
  t.equal(dp.handle(ul), 3);
  t.same(vm1.sent, [inner], 'the VXLAN frame for VNI 100 reached vm1 (flooded: destination unknown)');
  t.equal(vm2.sent.length, 0, 'nothing crossed into VNI 200');
  const s = statsSnapshot(dp, Date.now());
  t.equal(s.drops['decap/tunnel-type-mismatch'], 2, 'both wrong-type frames counted');
  t.match(fdbEntries(dp, 100), [{ mac: '02:00:00:00:00:22', remote: '192.0.2.2', port: null }]);

  // vm1 answers: a known unicast destination, one encapsulated copy to 192.0.2.2 only.
  vm1.inbox.push(ethFrame('02:00:00:00:00:22', '02:00:00:00:00:11'));
  dp.handle(vm1);
  t.equal(ul.sent.length, 1);
  t.equal(ip4(ul.sent[0], 30), '192.0.2.2');
  t.equal(statsSnapshot(dp, Date.now()).networks[0].unicast, 1);

  // Static entries from the control path win over learning.
  dp.addStatic(100, '02:00:00:00:00:33', undefined, '192.0.2.3');
  t.match(fdbEntries(dp, 100).find((e) => e.mac === '02:00:00:00:00:33'), { remote: '192.0.2.3', static: true });
  t.throws(() => dp.addStatic(100, '02:00:00:00:00:44', 'vm2'), /port vm2 is not a member of VNI 100/);
  t.throws(() => dp.addStatic(7, '02:00:00:00:00:44', 'vm1'), /no network has VNI 7/);
  t.end();
});

t.test('a wrong-type frame is dropped whatever outer tag it carries (0x8100, 0x88a8, 0x9100)', (t) => {
  // Regression: the old classifier walked 0x8100/0x88a8 only, so behind a 0x9100 tag a GENEVE
  // frame with a VXLAN network's VNI was decapsulated into that network.
  const { dp, vm1, vm2, ul } = build([
    { vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2'] },
    { vni: 200, type: 'geneve', ports: ['vm2'], remotes: ['192.0.2.2'] },
  ]);
  const inner = ethFrame('ff:ff:ff:ff:ff:ff', '02:00:00:00:00:22');
  const b = new PacketBatch({ capacity: 1 });
  b.append(inner, 0, inner.length, inner.length, 0, 0);
  new EncapStage({ type: 'geneve', vni: 100, local: '192.0.2.2', remotes: [{ ip: '192.0.2.1', mac: '02:00:00:00:ff:01' }] }).process(b);
  const geneve = Uint8Array.from(b.frame(0));
  for (const tpid of [0x8100, 0x88a8, 0x9100]) {
    const f = new Uint8Array(geneve.length + 4);
    f.set(geneve.subarray(0, 12), 0);
    f.set([tpid >> 8, tpid & 0xff, 0x00, 0x07], 12);
    f.set(geneve.subarray(12), 16);
    ul.inbox.push(f);
  }
  t.equal(dp.handle(ul), 3);
  t.equal(vm1.sent.length, 0, 'nothing reached the VXLAN network');
  t.equal(vm2.sent.length, 0, 'nor the GENEVE one');
  t.equal(statsSnapshot(dp, Date.now()).drops['decap/tunnel-type-mismatch'], 3, 'all three counted as tunnel-type-mismatch');
  t.end();
});

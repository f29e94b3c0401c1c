/**
 * Config → stage specs (src/pipeline/resolve.ts): the translation the Dataplane
 * no longer does itself, checked on its own, without ports or the addon.
 */
import t from 'tap';
import { validateConfig } from '../../src/config/config-load.js';
import { resolvePipeline } from '../../src/pipeline/resolve.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { vniKindOf } from '../../src/tunnel/tunnel-config.js';

const env = { localMac: '02:00:00:00:ff:01', remoteMacs: new Map([['192.0.2.2', '02:00:00:00:ff:02']]) };
function cfg(extra: Record<string, unknown> = {}, underlay: Record<string, unknown> = {}) {
  return validateConfig({
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'afpacket', ...underlay },
    ports: [{ name: 'vm1', backend: 'pcap', writeFile: '/dev/null' }, { name: 'vm2', backend: 'pcap', writeFile: '/dev/null' }, { name: 'vm3', backend: 'pcap', writeFile: '/dev/null' }],
    networks: [
      { vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2', '192.0.2.3'] },
      { vni: 200, type: 'geneve', ports: ['vm2'], remotes: ['192.0.2.2'], geneveOptions: [{ class: 0x0102, type: 5, data: '0000000a', critical: true }] },
      { vni: 300, type: 'nvgre', ports: ['vm3'], remotes: [] },
    ],
    fdb: { maxEntries: 1000, static: [{ vni: 100, mac: '02:00:00:00:00:99', port: 'vm1' }] },
    ...extra,
  });
}

t.test('decap: every network in its own tunnel type, its ports, NVGRE only when a network uses it', (t) => {
  const s = resolvePipeline(cfg(), env);
  t.same(s.decap.networks, [{ vni: 100, type: 'vxlan' }, { vni: 200, type: 'geneve' }, { vni: 300, type: 'nvgre' }]);
  t.same(s.decap.vxlanPorts, [4789]);
  t.same(s.decap.genevePorts, [6081]);
  t.equal(s.decap.nvgre, true);
  t.same(s.decap.geneveKnownOptions, [{ optClass: 0x0102, type: 5 }]);
  const st = new DecapStage(s.decap);
  t.equal(st.config.checkKind, true, 'kinds are checked');
  t.same([100, 200, 300, 400].map((v) => vniKindOf(st.config.vniKind!, v)), [1, 2, 3, 0], 'VNI kind table');
  t.end();
});

t.test('encap: one per network with remotes, next-hop MACs, critical GENEVE options, tx key', (t) => {
  const s = resolvePipeline(cfg(), env);
  const [a, b, c] = s.networks;
  t.same(a.encap?.remotes, [{ ip: '192.0.2.2', mac: '02:00:00:00:ff:02' }, { ip: '192.0.2.3', mac: 'ff:ff:ff:ff:ff:ff' }], 'unknown next hop: broadcast');
  t.equal(a.encap?.localMac, env.localMac);
  t.equal(b.encap?.geneveOptions?.[0].type, 0x85, 'critical bit set in the option type');
  t.equal(c.encap, null, 'no remotes: no encap stage');
  t.same(s.networks.map((n) => n.txUdpPort), [4789, 6081, 0]);
  t.same(s.statics, [{ vni: 100, mac: '02:00:00:00:00:99', port: 'vm1', remote: undefined }]);
  t.equal(s.table.capacity, 1000);
  t.end();
});

t.test('checksum placement: inline, native pass, kernel (vnet) with or without a checksum to complete', (t) => {
  const host = resolvePipeline(cfg({}, { udpChecksum: true }), env);
  t.same(host.networks.map((n) => [n.encap?.udpCsum, n.checksum]), [[true, null], [true, null], [undefined, null]]);
  const native = resolvePipeline(cfg({ offload: { checksum: 'native' } }, { udpChecksum: true }), env);
  t.same(native.networks.map((n) => [n.encap?.udpCsum, n.encap?.zeroCsum6Tx, n.checksum]), [[false, true, { kind: 'native' }], [false, true, { kind: 'native' }], [undefined, undefined, null]]);
  const kernel = resolvePipeline(cfg({ offload: { checksum: 'kernel' } }, { udpChecksum: true }), env);
  t.same(kernel.networks.map((n) => n.checksum), [{ kind: 'kernel', complete: true }, { kind: 'kernel', complete: true }, { kind: 'kernel', complete: false }],
    'every network on the vnet underlay gets a kernel pass (NVGRE only clears its slots)');
  t.end();
});

t.test('implementations follow the offload plan', (t) => {
  t.match(resolvePipeline(cfg(), env), { tunnelImpl: 'host', bridgeImpl: 'host' });
  t.match(resolvePipeline(cfg({ offload: { 'encap-decap': 'native', 'forwarding-learning': 'native' } }), env), { tunnelImpl: 'native', bridgeImpl: 'native' });
  t.end();
});

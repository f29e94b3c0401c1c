/**
 * `offload: { encap-decap: xdp, forwarding-learning: xdp }` in the config: what
 * the xdp programs can carry is accepted; what they cannot is refused at load
 * time with the reason and what to use instead, never quietly left to the slow path.
 */
import t from 'tap';
import { ConfigError, validateConfig } from '../../src/config/config-load.js';

const XDP = { 'encap-decap': 'xdp', 'forwarding-learning': 'xdp' } as const;

function baseConfig(): Record<string, any> {
  return {
    underlay: { interface: 'ul0', address: '192.0.2.1' },
    ports: [{ name: 'vm11', interface: 'vm11', backend: 'afpacket' }, { name: 'vm12', interface: 'vm12', backend: 'tap' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm11', 'vm12'], remotes: ['192.0.2.2'] }],
    offload: { ...XDP },
  };
}

function problems(edit: (c: Record<string, any>) => void): string {
  const c = baseConfig();
  edit(c);
  try {
    validateConfig(c, 'test');
    return '';
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.join('\n');
    throw e;
  }
}

t.test('config: the xdp data path', async (t) => {
  t.equal(problems(() => undefined), '', 'VXLAN over IPv4, AF_PACKET and TAP ports: accepted');
  t.equal(problems((c) => { c.underlay.transport = 'udp'; }), '', 'a UDP socket underlay as the slow path: accepted');
  t.match(problems((c) => { c.offload['forwarding-learning'] = 'native'; }), /encap-decap: xdp with forwarding-learning: native: .*put both on xdp/);
  t.match(problems((c) => { c.offload.checksum = 'xdp'; }), /checksum and segmentation cannot be xdp/);
  t.equal(problems((c) => { c.networks[0].type = 'geneve'; }), '', 'GENEVE: accepted');
  t.equal(problems((c) => { c.networks[0].type = 'nvgre'; }), '', 'NVGRE: accepted');
  t.equal(problems((c) => { c.networks[0].type = 'geneve'; c.networks[0].geneveOptions = [{ class: 1, type: 1, data: '00'.repeat(124) }, { class: 1, type: 2, data: '00'.repeat(120) }]; }),
    '', 'GENEVE with 252 bytes of options (GENEVE\'s own limit): accepted');
  t.match(problems((c) => { c.underlay.transport = 'afxdp'; }), /underlay.transport: afxdp: the AF_XDP socket needs its own XDP program/);
  t.equal(problems((c) => { c.underlay.udpChecksum = true; }), '', 'the outer UDP checksum over IPv4 (computed by the programs): accepted');
  t.equal(problems((c) => { c.underlay.address = '2001:db8::1'; c.networks[0].remotes = ['2001:db8::2']; }), '', 'an IPv6 underlay: accepted');
  t.match(problems((c) => { c.ports[0].backend = 'pcap'; c.ports[0].readFile = '/tmp/x.pcap'; }), /ports\[0\] \(vm11\): backend pcap: .*use backend afpacket or tap/);
  t.match(problems((c) => { c.ports[1].vlan = 10; }), /ports\[1\] \(vm12\).vlan: the xdp programs take untagged frames only/);
  t.match(problems((c) => { c.networks.push({ vni: 200, type: 'vxlan', udpPort: 8472, ports: [], remotes: ['192.0.2.3'] }); }), /take vxlan on one UDP port; these vxlan networks use 4789, 8472/);
  t.match(problems((c) => { c.networks[0].remotes = Array.from({ length: 300 }, (_, i) => `10.${i >> 8}.${i & 255}.1`); }), /300 remote VTEPs, the xdp maps hold 256/);
});

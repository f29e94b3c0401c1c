import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, validateConfig, ConfigError, parseConfigText } from '../../src/config/config-load.js';

const example = new URL('../../examples/vtepd.yaml', import.meta.url).pathname;

function base(): Record<string, any> {
  return {
    underlay: { interface: 'ul0', address: '192.0.2.1' },
    ports: [{ name: 'vm1', interface: 'veth-vm1' }, { name: 'vm2', interface: 'veth-vm2' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2'] }],
  };
}

/** The issues a bad config produces (it must throw ConfigError). */
function issuesOf(doc: unknown): string[] {
  try {
    validateConfig(doc, 'test');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('config was accepted');
}

t.test('the example config passes and is normalised with defaults', (t) => {
  const c = loadConfig(example);
  t.equal(c.underlay.transport, 'afpacket');
  t.equal(c.underlay.mtu, 1500);
  t.equal(c.networks[0].udpPort, 4789, 'VXLAN default port (IANA 4789)');
  t.equal(c.networks[1].udpPort, 6081, 'GENEVE default port (IANA 6081)');
  t.equal(c.networks[1].geneveOptions[0].class, 0x0102);
  t.equal(c.ports[0].backend, 'afpacket');
  t.equal(c.fdb.ageing, 300);
  t.equal(c.fdb.static[0].remote, '192.0.2.3');
  t.equal(c.metrics.listen, '127.0.0.1:9580', 'metrics default only on loopback');
  t.equal(c.log.level, 'info');
  t.end();
});

t.test('a minimal config gets every default', (t) => {
  const c = validateConfig(base());
  t.same(c.control, { socket: '/run/vtepd/vtepd.sock' });
  t.same(c.metrics, { enabled: true, listen: '127.0.0.1:9580' });
  t.same(c.fdb, { ageing: 300, maxEntries: 65536, perPortLimit: 0, perRemoteLimit: 0, full: 'stop', static: [] });
  t.equal(c.batch.size, 64);
  t.end();
});

t.test('JSON configs load too, with the same result as YAML', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cfg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify(base()));
  const y = join(dir, 'c.yaml');
  writeFileSync(y, 'underlay: {interface: ul0, address: 192.0.2.1}\nports: [{name: vm1, interface: veth-vm1}, {name: vm2, interface: veth-vm2}]\nnetworks:\n  - {vni: 100, type: vxlan, ports: [vm1], remotes: [192.0.2.2]}\n');
  t.same(loadConfig(f), loadConfig(y));
  t.end();
});

const cases: [string, (c: Record<string, any>) => void, string][] = [
  ['VNI too large', (c) => { c.networks.push({ vni: 16777216, type: 'vxlan' }); }, 'networks[1].vni: must be <= 16777215'],
  ['negative VNI', (c) => { c.networks[0].vni = -1; }, 'networks[0].vni: must be >= 0'],
  ['VNI not an integer', (c) => { c.networks[0].vni = '100'; }, 'networks[0].vni: must be integer'],
  ['unknown tunnel type', (c) => { c.networks[0].type = 'gre'; }, 'networks[0].type: must be one of vxlan, geneve, nvgre'],
  ['unknown backend', (c) => { c.ports[1].backend = 'dpdk'; }, 'ports[1].backend: must be one of afpacket, afxdp, tap, cap, pcap'],
  ['unknown transport', (c) => { c.underlay.transport = 'xdp'; }, 'underlay.transport: must be one of afpacket, afxdp, udp, raw'],
  ['missing underlay', (c) => { delete c.underlay; }, 'underlay: is required'],
  ['missing underlay address', (c) => { delete c.underlay.address; }, 'underlay.address: is required'],
  ['misspelt key', (c) => { c.networks[0].remote = ['192.0.2.9']; }, 'networks[0].remote: unknown key'],
  ['bad local address', (c) => { c.underlay.address = '192.0.2.300'; }, 'underlay.address: must be an IPv4 or IPv6 address'],
  ['bad remote address', (c) => { c.networks[0].remotes = ['192.0.2.2', 'vtep-b']; }, 'networks[0].remotes[1]: must be an IPv4 or IPv6 address'],
  ['mixed families', (c) => { c.networks[0].remotes = ['2001:db8::2']; }, 'networks[0].remotes[0]: IPv6 remote with an IPv4 underlay.address'],
  ['unknown member port', (c) => { c.networks[0].ports = ['vm1', 'vm9']; }, 'networks[0].ports[1]: unknown port "vm9"'],
  ['port in two networks', (c) => { c.networks.push({ vni: 101, type: 'geneve', ports: ['vm1'] }); }, 'networks[1].ports[0]: port "vm1" is already in networks[0]'],
  ['duplicate VNI', (c) => { c.networks.push({ vni: 100, type: 'geneve' }); }, 'networks[1].vni: duplicate VNI 100 (also networks[0])'],
  ['duplicate port name', (c) => { c.ports[1].name = 'vm1'; }, 'ports[1].name: duplicate port name "vm1" (also ports[0])'],
  ['MTU too small', (c) => { c.underlay.mtu = 100; }, 'underlay.mtu: must be >= 576'],
  ['VLAN out of range', (c) => { c.ports[0].vlan = 4095; }, 'ports[0].vlan: must be <= 4094'],
  ['filter without cap', (c) => { c.ports[0].filter = 'udp'; }, 'ports[0].filter: BPF filters need backend cap'],
  ['NVGRE with a UDP port', (c) => { c.networks[0].type = 'nvgre'; c.networks[0].udpPort = 4789; }, 'networks[0].udpPort: NVGRE runs over GRE (IP protocol 47), not UDP'],
  ['GENEVE options on VXLAN', (c) => { c.networks[0].geneveOptions = [{ class: 1, type: 2 }]; }, 'networks[0].geneveOptions: only for type geneve'],
  ['GENEVE option data not whole words', (c) => { c.networks[0].type = 'geneve'; c.networks[0].geneveOptions = [{ class: 1, type: 2, data: 'abcd' }]; }, 'networks[0].geneveOptions[0].data: must be hex, a multiple of 4 bytes, at most 124 bytes'],
  ['bad static MAC', (c) => { c.fdb = { static: [{ vni: 100, mac: '02:00:00:00:00', port: 'vm1' }] }; }, 'fdb.static[0].mac: must be a MAC address like 02:00:00:00:00:01'],
  ['static entry in unknown VNI', (c) => { c.fdb = { static: [{ vni: 7, mac: '02:00:00:00:00:01', port: 'vm1' }] }; }, 'fdb.static[0].vni: no network has VNI 7'],
  ['static entry with port and remote', (c) => { c.fdb = { static: [{ vni: 100, mac: '02:00:00:00:00:01', port: 'vm1', remote: '192.0.2.2' }] }; }, 'fdb.static[0]: needs exactly one of port or remote'],
  ['static entry on a port of another network', (c) => { c.fdb = { static: [{ vni: 100, mac: '02:00:00:00:00:01', port: 'vm2' }] }; }, 'fdb.static[0].port: "vm2" is not a member of VNI 100'],
  ['full policy', (c) => { c.fdb = { full: 'random' }; }, 'fdb.full: must be one of stop, evict-oldest'],
  ['relative socket path', (c) => { c.control = { socket: 'vtepd.sock' }; }, 'control.socket: must be an absolute path'],
  ['bad metrics address', (c) => { c.metrics = { listen: 'localhost' }; }, 'metrics.listen: must be ADDRESS:PORT, e.g. 127.0.0.1:9580 or [::1]:9580'],
  ['log level', (c) => { c.log = { level: 'verbose' }; }, 'log.level: must be one of fatal, error, warn, info, debug, trace, silent'],
  ['NVGRE over kernel UDP', (c) => { c.networks[0].type = 'nvgre'; c.underlay.transport = 'udp'; }, 'networks[0].type: nvgre cannot use underlay.transport udp (use afpacket or raw)'],
  ['port on the underlay interface', (c) => { c.ports[0].interface = 'ul0'; }, 'ports[0].interface: "ul0" is the underlay interface'],
  ['no networks', (c) => { c.networks = []; }, 'networks: needs at least 1 item'],
];

for (const [name, mutate, expected] of cases) {
  t.test(`bad config: ${name}`, (t) => {
    const c = base();
    mutate(c);
    t.ok(issuesOf(c).includes(expected), `${expected}\n   got: ${JSON.stringify(issuesOf(c))}`);
    t.end();
  });
}

t.test('all problems are reported at once', (t) => {
  const c = base();
  c.networks[0].vni = 1 << 24;
  c.ports[0].vlan = 0;
  t.same(issuesOf(c).sort(), ['networks[0].vni: must be <= 16777215', 'ports[0].vlan: must be >= 1']);
  t.end();
});

t.test('syntax errors name the line; missing files say so', (t) => {
  t.throws(() => parseConfigText('underlay:\n  interface: [x\n', 'bad.yaml'), /bad\.yaml:\n {2}YAML syntax error at line \d+, column \d+/);
  t.throws(() => parseConfigText('a: 1\na: 2\n', 'dup.yaml'), /YAML syntax error.*[Mm]ap keys must be unique/);
  t.throws(() => parseConfigText('{"a": ', 'bad.json'), /bad\.json:\n {2}syntax error/);
  t.throws(() => loadConfig('/nonexistent/vtepd.yaml'), /cannot read file: no such file/);
  t.throws(() => validateConfig([1, 2], 'list.yaml'), /\(top level\): must be a mapping/);
  t.end();
});

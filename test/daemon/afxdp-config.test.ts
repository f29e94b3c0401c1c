/**
 * `backend: afxdp` / `underlay.transport: afxdp` in the config: options kept as
 * given, bad ones named by key path, and what reloads keep: the AF_XDP underlay
 * stays open when only the address or tunnel ports change (its filter follows).
 */
import t from 'tap';
import { ConfigError, validateConfig } from '../../src/config/config-load.js';
import { deviceKey, underlayKey } from '../../src/pipeline/open-ports.js';
import { afxdpSocketOptions, localFilter, underlayFilter } from '../../src/pipeline/afxdp-options.js';

function base(): Record<string, any> {
  return {
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'afxdp', afxdp: { mode: 'copy', rxSize: 1024, needWakeup: false } },
    ports: [{ name: 'vm1', interface: 'veth-vm1', backend: 'afxdp', afxdp: { queue: 0, frameSize: 4096, take: 'vlans' }, vlan: 10 },
      { name: 'vm2', interface: 'veth-vm2', backend: 'afxdp' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm1'], remotes: ['192.0.2.2'] }, { vni: 101, type: 'nvgre', ports: ['vm2'], remotes: ['192.0.2.2'] }],
  };
}
function issuesOf(doc: unknown): string[] {
  try { validateConfig(doc, 'test'); } catch (err) { if (err instanceof ConfigError) return err.issues; throw err; }
  throw new Error('config was accepted');
}

t.test('AF_XDP options are accepted as given and mapped onto the port', async (t) => {
  const c = validateConfig(base());
  t.same(c.underlay.afxdp, { mode: 'copy', rxSize: 1024, needWakeup: false });
  t.equal(c.ports[1].afxdp, undefined, 'no defaults injected into the config');
  t.same(afxdpSocketOptions(c.underlay.afxdp), { mode: 'copy', rxSize: 1024, needWakeup: false });
  t.same(afxdpSocketOptions(c.ports[0].afxdp), { queue: 0, frameSize: 4096 });
  t.same(localFilter(c.ports[0].afxdp, [{ vlan: 10 }, { vlan: 20 }]), { mode: 'vlans', vlans: [10, 20], untagged: false });
  t.same(localFilter(c.ports[1].afxdp, [{ vlan: 0 }]), { mode: 'all' });
  t.same(underlayFilter(c), { mode: 'tunnel', udpPorts: [4789], gre: true, address: '192.0.2.1' }, 'VXLAN port and GRE (an NVGRE network), to our address');
});

t.test('bad AF_XDP options are named by key path', async (t) => {
  const cases: [string, (c: Record<string, any>) => void, string][] = [
    ['ring not a power of two', (c) => { c.underlay.afxdp.rxSize = 1000; }, 'underlay.afxdp.rxSize: must be one of 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536'],
    ['frame size', (c) => { c.ports[0].afxdp.frameSize = 3000; }, 'ports[0].afxdp.frameSize: must be one of 2048, 4096'],
    ['mode', (c) => { c.underlay.afxdp.mode = 'fast'; }, 'underlay.afxdp.mode: must be one of auto, copy, zerocopy'],
    ['take on the underlay', (c) => { c.underlay.afxdp.take = 'all'; }, 'underlay.afxdp.take: unknown key'],
    ['afxdp on an AF_PACKET port', (c) => { c.ports[1].backend = 'afpacket'; c.ports[1].afxdp = {}; }, 'ports[1].afxdp: only for backend afxdp'],
    ['afxdp with another transport', (c) => { c.underlay.transport = 'afpacket'; }, 'underlay.afxdp: only for transport afxdp'],
    ['two ports, one interface, different options', (c) => { c.ports[1].interface = 'veth-vm1'; c.ports[1].vlan = 20; }, 'ports[1].afxdp: ports on one interface share its AF_XDP socket: use the same afxdp options as ports[0]'],
    ['nine tunnel ports', (c) => { for (let k = 0; k < 9; k++) c.networks.push({ vni: 200 + k, type: 'vxlan', udpPort: 5000 + k }); }, 'underlay.transport: afxdp filters at most 8 tunnel UDP ports (the networks use 10)'],
  ];
  for (const [name, mutate, want] of cases) {
    const c = base();
    mutate(c);
    const got = issuesOf(c);
    t.ok(got.includes(want), `${name}: ${want}\n   got: ${JSON.stringify(got)}`);
  }
  const q = base();
  q.ports[0].afxdp.queue = 'some';
  t.ok(issuesOf(q).some((i) => i.startsWith('ports[0].afxdp.queue')), 'queue: all or an integer');
});

t.test('reload keys: the AF_XDP underlay survives address and tunnel changes; port options reopen the port', async (t) => {
  const a = validateConfig(base());
  const b = base();
  b.underlay.address = '192.0.2.7';
  b.networks[0].type = 'geneve';
  b.networks[1].remotes = ['192.0.2.8'];
  b.networks[0].remotes = ['192.0.2.8'];
  const cb = validateConfig(b);
  t.equal(underlayKey(cb), underlayKey(a), 'same key: the socket stays, only its filter changes');
  t.same(underlayFilter(cb), { mode: 'tunnel', udpPorts: [6081], gre: true, address: '192.0.2.7' });
  const c = base();
  c.underlay.afxdp.rxSize = 2048;
  t.not(underlayKey(validateConfig(c)), underlayKey(a), 'ring sizes reopen it');
  const d = base();
  d.ports[1].afxdp = { mode: 'copy' };
  t.not(deviceKey(validateConfig(d).ports[1]), deviceKey(a.ports[1]));
  t.equal(deviceKey(a.ports[1]), deviceKey(validateConfig(base()).ports[1]));
});

/** `control-plane: evpn` config: defaults, and every refusal with its key path. */
import t from 'tap';
import { ConfigError, validateConfig } from '../../src/config/config-load.js';

const base = (extra: Record<string, unknown> = {}, net: Record<string, unknown> = {}): Record<string, unknown> => ({
  underlay: { interface: 'ul0', address: '192.0.2.1' },
  networks: [{ vni: 100, type: 'vxlan', ...net }],
  ...extra,
});
function problems(doc: Record<string, unknown>): string[] {
  try { validateConfig(doc); return []; } catch (e) { if (e instanceof ConfigError) return e.issues; throw e; }
}

t.test('defaults', async (t) => {
  const c = validateConfig(base());
  t.equal(c['control-plane'], 'static', 'static by default');
  const e = validateConfig(base({ 'control-plane': 'evpn' }));
  t.same(e.evpn, { speaker: 'gobgp', api: '127.0.0.1:50051', holdTime: 180, protoDir: '/usr/share/gocode/src/github.com/osrg/gobgp/api' }, 'evpn defaults');
  t.same(validateConfig(base({ 'control-plane': 'evpn' }, { rd: '192.0.2.1:7', rt: ['65000:100', '4200000000:5'] })).networks[0].rt, ['65000:100', '4200000000:5'], 'rd/rt kept');
});

t.test('refusals name the key', async (t) => {
  t.match(problems(base({}, { rt: ['65000:100'] })), [/networks\[0\]: rd\/rt need control-plane: evpn/]);
  t.match(problems(base({ 'control-plane': 'evpn' }, { rt: ['65000:x'] })), [/networks\[0\]\.rt\[0\]/]);
  t.match(problems(base({ 'control-plane': 'evpn' }, { rd: '192.0.2.1:70000' })), [/networks\[0\]\.rd: rd "192\.0\.2\.1:70000": with an IPv4 address the number must be <= 65535/]);
  t.match(problems(base({ 'control-plane': 'evpn' }, { rt: ['4200000000:70000'] })), [/4-octet ASN the number must be <= 65535/]);
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { api: 'nope' } })), [/evpn\.api: must be HOST:PORT/]);
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { routerId: '2001:db8::1' } })), [/evpn\.routerId: must be an IPv4 address/]);
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { holdTime: -1 } })), [/evpn\.holdTime/]);
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { bogus: 1 } })), [/evpn\.bogus: unknown key/]);
  const kernel = { 'encap-decap': 'kernel', 'forwarding-learning': 'kernel', checksum: 'kernel', segmentation: 'kernel' };
  t.match(problems(base({ 'control-plane': 'evpn', offload: kernel })).join('\n'), /evpn\.speaker: gobgp drives vtepd's own data path; with the kernel data path .* use speaker frr/);
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { speaker: 'frr' } })).join('\n'), /evpn\.speaker: frr programs the kernel's vxlan devices; it needs offload encap-decap: kernel/);
  t.same(problems(base({ 'control-plane': 'evpn', evpn: { speaker: 'frr' }, offload: kernel })), [], 'frr with the kernel plan is fine');
  t.match(problems(base({ 'control-plane': 'evpn', evpn: { speaker: 'frr' }, offload: kernel }, { rt: ['65000:1'] })).join('\n'), /with speaker frr, RD and RT are FRR's/);
});

/**
 * openPort / openUnderlay: config entries become the right backends, and a
 * failure names the port and keeps the errno code.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openPort, openUnderlay } from '../../src/ports/open-port.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { makeVethPair, nsExec } from './fixtures/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root (namespaces)' : !nativeAvailable() ? 'native addon not built' : false;

t.test('pcap backend and error wrapping', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-open-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const p = openPort({ name: 'rec', backend: 'pcap', writeFile: join(dir, 'x.pcap') }, 9);
  t.equal(p.kind, 'pcap');
  t.equal(p.index, 9);
  await p.close();
  t.throws(() => openPort({ name: 'vm1', backend: 'pcap' }, 0), /port 'vm1' \(pcap\): pcap port 'vm1': needs readFile/);
});

t.test('afpacket, tap and cap backends; afpacket underlay with guards', { skip }, async (t) => {
  const v = makeVethPair(t);
  const ns = { netns: v.nsA };
  const a = openPort({ name: 'vm1', interface: v.ifA, backend: 'afpacket' }, 1, ns);
  const tp = openPort({ name: `vtt${process.pid % 100000}o`, backend: 'tap' }, 2, ns);
  const c = openPort({ name: 'cap1', interface: v.ifA, backend: 'cap', filter: 'arp' }, 3, ns);
  t.teardown(() => Promise.all([a.close(), tp.close(), c.close()]));
  t.same([a.kind, tp.kind, c.kind], ['afpacket', 'tap', 'cap']);
  t.throws(() => openPort({ name: 'vm2', interface: 'nosuch9', backend: 'afpacket' }, 4, ns), { code: 'ENODEV', message: /^port 'vm2' \(afpacket\): .*no such interface 'nosuch9'/ });

  nsExec(v.nsB, 'ip', ['addr', 'add', '10.89.0.2/24', 'dev', v.ifB]);
  const [u] = await openUnderlay({ interface: v.ifB, address: '10.89.0.2', transport: 'afpacket' }, [4789, 6081], 0, { netns: v.nsB });
  t.teardown(() => u.close());
  t.equal(u.port.kind, 'afpacket');
  t.equal(u.guards.length, 2);
  const ss = execFileSync('ip', ['netns', 'exec', v.nsB, 'ss', '-uln'], { encoding: 'utf8' });
  t.match(ss, /10\.89\.0\.2:4789/);
  t.match(ss, /10\.89\.0\.2:6081/);
  await t.rejects(openUnderlay({ interface: 'x', address: 'nope', transport: 'raw' }, [], 0), /underlay raw on x \(nope\): raw-ip underlay: 'nope' is not an IP address/);
});

t.test('afxdp port and underlay', { skip }, async (t) => {
  const v = makeVethPair(t);
  const p = openPort({ name: 'vm1', interface: v.ifA, backend: 'afxdp' }, 1, { netns: v.nsA, afxdp: { rxSize: 256, fillSize: 256 } });
  t.teardown(() => p.close());
  t.equal(p.kind, 'afxdp');
  t.throws(() => openPort({ name: 'vm2', interface: v.ifA, backend: 'afxdp' }, 2, { netns: v.nsA }), /^port 'vm2' \(afxdp\): .*already has an AF_XDP port of this vtepd/);
  nsExec(v.nsB, 'ip', ['addr', 'add', '10.89.0.2/24', 'dev', v.ifB]);
  const [u] = await openUnderlay({ interface: v.ifB, address: '10.89.0.2', transport: 'afxdp' }, [4789], 0, { netns: v.nsB });
  t.teardown(() => u.close());
  t.same([u.port.kind, u.guards.length], ['afxdp', 1]);
  t.match(u.port.details?.(), { xdpMode: 'native', socketMode: 'copy' });
});

/**
 * What the EVPN control plane needs from the MAC table and the bridge domains
 * (on main's MacJournal, no second ring): local static entries are journaled
 * (they are advertised), remote ones are not; a remote static entry replacing
 * a local MAC is journaled (the local route is withdrawn); remote static
 * entries yield to local learning only in domains that ask for it (MAC
 * mobility); remote VTEPs leave a domain at run time.
 */
import t from 'tap';
import { MacTable, localPlace, remotePlace, MacFlag } from '../../src/l2/mac-table.js';
import { MacJournal } from '../../src/l2/mac-journal.js';
import { BridgeDomains } from '../../src/l2/bridge-domain.js';
import { KeyPairMap } from '../../src/l2/key-map.js';

type Ev = [string, number, number, number, number];
function drain(j: MacJournal): Ev[] {
  const out: Ev[] = [];
  j.drain((k, d, hi, lo, place) => out.push([k, d, hi, lo, place]));
  return out;
}

t.test('static entries: local ones journaled, remote ones only when they replace a local MAC', async (t) => {
  const table = new MacTable({ capacity: 64, ageingSeconds: 10, seed: [1, 2] });
  const j = new MacJournal(16);
  table.journal = j;
  const p1 = localPlace(1);
  const r0 = remotePlace(0);
  table.addStatic(1, 0x0200, 0x10, p1);
  table.addStatic(1, 0x0200, 0x11, r0);
  t.same(drain(j), [['learned', 1, 0x0200, 0x10, p1]], 'a local static entry: learned; a remote one: nothing');
  table.addStatic(1, 0x0200, 0x10, p1);
  t.same(drain(j), [], 'the same static again: nothing');
  t.notOk(j.pending, 'nothing pending');
  table.learn(1, 0x0200, 0x12, p1, 0);
  drain(j);
  table.addStatic(1, 0x0200, 0x12, r0);
  t.same(drain(j), [['moved', 1, 0x0200, 0x12, r0]], 'a remote static replacing a local MAC: moved (the advertiser withdraws)');
  table.delete(1, 0x0200, 0x10);
  t.same(drain(j), [['removed', 1, 0x0200, 0x10, p1]], 'deleting a local static: removed');
});

t.test('remote static entries yield to local learning only where asked (EVPN MAC mobility)', async (t) => {
  const table = new MacTable({ capacity: 64, maxDomains: 4, seed: [3, 4] });
  const j = new MacJournal(16);
  table.journal = j;
  const p1 = localPlace(1);
  const r0 = remotePlace(0);
  table.addStatic(0, 0x0200, 0x20, r0);
  table.addStatic(1, 0x0200, 0x20, r0);
  table.remoteStaticYields[1] = 1;
  drain(j);
  table.learn(0, 0x0200, 0x20, p1, 1);
  t.equal(table.lookup(0, 0x0200, 0x20, 1) & (MacFlag.STATIC | MacFlag.REMOTE), MacFlag.STATIC | MacFlag.REMOTE, 'domain 0: the remote static entry stays');
  t.equal(table.counter(0, 'static-protected'), 1, '... counted static-protected');
  t.same(drain(j), [], '... and nothing journaled');
  table.learn(1, 0x0200, 0x20, p1, 1);
  const m = table.lookup(1, 0x0200, 0x20, 1);
  t.equal(m & (MacFlag.STATIC | MacFlag.LOCAL | MacFlag.REMOTE), MacFlag.LOCAL, 'domain 1: now a dynamic local entry');
  t.equal(table.counter(1, 'moved'), 1, '... counted as a move');
  t.equal(table.portCount[1], 1, '... and toward the port learn limit');
  t.same(drain(j), [['moved', 1, 0x0200, 0x20, p1]], 'one moved record (the control plane advertises the move)');
  table.addStatic(1, 0x0200, 0x20, r0);
  t.equal(table.portCount[1], 0, 'a remote route winning back: the local count is released');
  t.same(drain(j), [['moved', 1, 0x0200, 0x20, r0]], 'and the local entry going away is journaled');
});

t.test('remote VTEPs leave a domain at run time', async (t) => {
  const d = new BridgeDomains({ maxDomains: 4 });
  const dom = d.addVniDomain(100);
  const a = d.addRemoteIp(dom, '192.0.2.1');
  const b = d.addRemoteIp(dom, '192.0.2.2');
  const c = d.addRemoteIp(dom, '192.0.2.3');
  const v = d.version;
  t.ok(d.removeRemote(dom, b), 'removed');
  t.ok(d.version > v, 'membership version moved (native stages rebind)');
  t.same([...d.remotes[dom]], [a, c], 'the others stay in order');
  t.equal(d.remotePosition(dom, a), 0);
  t.equal(d.remotePosition(dom, c), 1, 'positions after it move up (encap templates are rebuilt)');
  t.equal(d.remotePosition(dom, b), -1, 'gone');
  t.notOk(d.removeRemote(dom, b), 'a second removal is a no-op');
  t.equal(d.remoteIndex(0xc0000202, 0, 0, 0, false), b, 'the global registration stays');
  const m = new KeyPairMap(4);
  for (let i = 0; i < 50; i++) m.set(i, i * 2, i);
  const vals = m.vals;
  t.ok(m.delete(7, 14));
  t.notOk(m.delete(7, 14));
  t.not(m.vals, vals, 'delete rebuilds into new arrays (native readers see the change)');
  t.equal(m.get(7, 14), -1);
  for (let i = 0; i < 50; i++) if (i !== 7) t.equal(m.get(i, i * 2), i);
  t.equal(m.size, 49);
});

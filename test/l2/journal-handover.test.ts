/**
 * The MAC journal (what a control plane hears: learned, moved, aged, removed;
 * a refresh is silent; overflow is counted), the handover of a table across a
 * reload (entries keyed by VNI, device and remote address, not by indices;
 * not counted as learned again), and the compact sorted snapshot of fdb show.
 */
import t from 'tap';
import { BridgeDomains } from '../../src/l2/bridge-domain.js';
import { handOver } from '../../src/l2/handover.js';
import { MacJournal } from '../../src/l2/mac-journal.js';
import { MacSnapshot } from '../../src/l2/mac-snapshot.js';
import { MacTable, localPlace, remotePlace, OUT_MASK } from '../../src/l2/mac-table.js';

function side(ports: [number, number][], remotes: string[], vnis = [100, 200]) {
  const table = new MacTable({ capacity: 64, seed: [1, 2] });
  const domains = new BridgeDomains({ table });
  const dom = vnis.map((v) => domains.addVniDomain(v));
  for (const [d, p] of ports) domains.addPort(dom[d], p, 0);
  const rem = remotes.map((r) => domains.addRemoteIp(dom[0], r));
  return { table, domains, dom, rem };
}

t.test('journal: learned, moved, aged, removed; refresh is silent; overflow counted', (t) => {
  const { table, dom, rem } = side([[0, 1], [0, 2]], ['192.0.2.2']);
  const j = new MacJournal(4);
  table.journal = j;
  const seen: string[] = [];
  const take = () => j.drain((kind, d, hi, lo, place) => seen.push(`${kind} ${d} ${hi.toString(16)}:${lo.toString(16)} ${place & OUT_MASK}`));
  table.learn(dom[0], 0x0200, 1, localPlace(1), 100);
  table.learn(dom[0], 0x0200, 1, localPlace(1), 150); // refresh
  table.learn(dom[0], 0x0200, 1, remotePlace(rem[0]), 160); // move behind the remote
  table.learn(dom[0], 0x0200, 2, localPlace(2), 170);
  t.equal(take(), 3);
  t.same(seen, [`learned ${dom[0]} 200:1 1`, `moved ${dom[0]} 200:1 ${rem[0]}`, `learned ${dom[0]} 200:2 2`]);
  seen.length = 0;
  table.delete(dom[0], 0x0200, 2);
  table.ageAll(160 + 300 * 100 + 1);
  take();
  t.same(seen, [`removed ${dom[0]} 200:2 2`, `aged ${dom[0]} 200:1 ${rem[0]}`]);
  for (let i = 0; i < 6; i++) table.learn(dom[0], 0x0200, 10 + i, localPlace(1), 200);
  t.equal(j.size, 4, 'ring holds its capacity');
  t.equal(j.lost, 2, 'the rest is counted as lost');
  table.journal = null;
  table.learn(dom[0], 0x0200, 99, localPlace(1), 200);
  t.equal(j.size, 4, 'no journal, nothing recorded');
  t.end();
});

t.test('handover: by VNI, device and remote address; not learned twice', (t) => {
  // Old: ports 0 and 1; remotes .2 and .3 (indices 0, 1).
  const a = side([[0, 0], [0, 1], [1, 2]], ['192.0.2.2', '192.0.2.3']);
  a.table.learn(a.dom[0], 0x0200, 1, localPlace(0), 10);
  a.table.learn(a.dom[0], 0x0200, 2, localPlace(1), 20);
  a.table.learn(a.dom[0], 0x0200, 3, remotePlace(a.rem[1]), 30);
  a.table.learn(a.dom[0], 0x0200, 4, remotePlace(a.rem[0]), 40);
  a.table.addStatic(a.dom[0], 0x0200, 5, remotePlace(a.rem[1]), 50);
  a.table.learn(a.dom[1], 0x0200, 6, localPlace(2), 60);
  // New: VNI 200 gone, VNI 100 first; old port 1 is new port 7, old port 0 gone; remote .2 gone, .3 kept (new index 0).
  const b = side([[0, 7]], ['192.0.2.3'], [100, 300]);
  const moved = handOver(a, b, (i) => (i === 1 ? 7 : undefined));
  t.equal(moved, 3, 'MAC 2 (port), MAC 3 (remote), MAC 5 (static) carried');
  const e = b.table.dump().map((x) => [x.macLo, x.remote ? `r${x.out}` : `p${x.out}`, x.static, x.stamp]);
  t.same(e, [[2, 'p7', false, 20], [3, `r${b.rem[0]}`, false, 30], [5, `r${b.rem[0]}`, true, 50]]);
  t.equal(b.table.counter(b.dom[0], 'learned'), 0, 'carried entries are not counted as learned');
  t.equal(b.table.portCount[7], 1, 'per-port count kept (limits still apply)');
  t.end();
});

t.test('snapshot: sorted like dump, one compact copy', (t) => {
  const { table, dom } = side([[0, 1], [1, 2]], []);
  for (let i = 0; i < 40; i++) table.learn(dom[i % 2], 0x0200 + (i % 3), (i * 7919) >>> 0, localPlace(1 + (i % 2)), i);
  const snap = MacSnapshot.of(table);
  t.same([...snap], table.dump());
  t.same([...MacSnapshot.of(table, dom[1])], table.dump(dom[1]));
  t.end();
});

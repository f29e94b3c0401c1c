/**
 * Bridge behaviour by replaying scapy-built captures through decap + bridge +
 * replicator, frame by frame, against forwarding written down by hand:
 * flood then learn then unicast, split horizon, VLAN trunk tagging, head-end
 * replication (checked through the real EncapStage and tshark), drops.
 */
import t from 'tap';
import { join } from 'node:path';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { PcapWriter } from '../../src/capture/index.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { MacTable, localPlace, MacFlag } from '../../src/l2/mac-table.js';
import { BridgeDomains } from '../../src/l2/bridge-domain.js';
import { BridgeStage, Action } from '../../src/l2/bridge-stage.js';
import { Replicator } from '../../src/l2/replicate.js';
import { dropReasonName } from '../../src/batch/drop-reasons.js';
import { parseMacWords } from '../../src/l2/mac-text.js';
import { scapyPcap, loadBatch, single, tmpDir, tshark } from './helpers.js';

const A = '00:00:00:00:00:0a', B = '00:00:00:00:00:0b', C = '00:00:00:00:00:0c', D = '00:00:00:00:00:0d', E = '00:00:00:00:00:0e';

export function bridge(tableOpts: Partial<ConstructorParameters<typeof MacTable>[0]> = {}) {
  const table = new MacTable({ capacity: 1024, ...tableOpts });
  const domains = new BridgeDomains({ table });
  const dom = domains.addVniDomain(100);
  domains.addPort(dom, 1, 0, 'p1');
  domains.addPort(dom, 2, 0, 'p2');
  domains.addPort(dom, 3, 30, 'trunk');
  const r1 = domains.addRemoteIp(dom, '10.0.0.2');
  const r2 = domains.addRemoteIp(dom, '10.0.0.3');
  const stage = new BridgeStage({ table, domains, ageSlotsPerBatch: 0 });
  const decap = new DecapStage({ keepOther: true });
  const rep = new Replicator(stage);
  const local = new PacketBatch({ capacity: 64 });
  const remote = new PacketBatch({ capacity: 64 });
  /** Run one frame; describe what happened. */
  const step = (b: PacketBatch) => {
    decap.process(b);
    stage.process(b);
    rep.start(b);
    local.clear();
    remote.clear();
    if (!rep.fillLocal(local)) throw new Error('local copies did not fit');
    const remoteDom = rep.fillRemote(remote);
    const copiesL = Array.from({ length: local.count }, (_, j) => local.outPort[j]);
    const copiesR = Array.from({ length: remote.count }, (_, j) => `${remote.outPort[j]}@${remote.vni[j]}`);
    return {
      action: ['drop', 'local', 'remote', 'flood'][stage.action[0]],
      drop: b.drop[0] ? dropReasonName(b.drop[0]) : null,
      out: stage.action[0] === Action.LOCAL || stage.action[0] === Action.REMOTE ? b.outPort[0] : null,
      local: copiesL, remote: copiesR, remoteDom,
    };
  };
  return { table, domains, dom, r1, r2, stage, decap, rep, local, remote, step };
}

t.test('flood, learn, unicast, split horizon, trunk VLAN, drops', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'flow', `
plain('${A}', '${B}', 1.0)
vx('10.0.0.2', 100, '${B}', '${A}', 1.1)
plain('${A}', '${B}', 1.2)
vx('10.0.0.3', 100, '${C}', 'ff:ff:ff:ff:ff:ff', 1.3)
vx('10.0.0.3', 100, '${C}', '${B}', 1.4)
plain('${D}', '${A}', 1.5)
plain('${E}', '${A}', 1.6, vlan=30)
plain('${A}', '${E}', 1.7)
vx('10.0.0.9', 100, '${D}', '${A}', 1.8)
vx('10.0.0.2', 999, '${D}', '${A}', 1.9)
plain('01:00:5e:00:00:01', '${A}', 2.0)
plain('${D}', '${A}', 2.1)
plain('${A}', '33:33:00:00:00:01', 2.2)
`);
  const all = loadBatch(pcap, [1, 0, 1, 0, 0, 1, 3, 1, 0, 0, 1, 5, 1]);
  const br = bridge();
  const got = Array.from({ length: all.count }, (_, k) => br.step(single(all, k)));
  const want = [
    { action: 'flood', drop: null, out: null, local: [2, 3], remote: ['0@100', '1@100'] }, // unknown B: flood everywhere but port 1
    { action: 'local', drop: null, out: 1, local: [1], remote: [] }, // A learned on port 1
    { action: 'remote', drop: null, out: br.r1, local: [], remote: ['0@100'] }, // B learned behind 10.0.0.2
    { action: 'flood', drop: null, out: null, local: [1, 2, 3], remote: [] }, // broadcast from a remote: no HER back to remotes
    { action: 'drop', drop: 'remote-to-remote', out: null, local: [], remote: [] },
    { action: 'drop', drop: 'same-port', out: null, local: [], remote: [] },
    { action: 'local', drop: null, out: 1, local: [1], remote: [] }, // from trunk VLAN 30 = VNI 100
    { action: 'local', drop: null, out: 3, local: [3], remote: [] },
    { action: 'drop', drop: 'unknown-remote', out: null, local: [], remote: [] },
    { action: 'drop', drop: 'no-domain', out: null, local: [], remote: [] },
    { action: 'drop', drop: 'invalid-src', out: null, local: [], remote: [] },
    { action: 'drop', drop: 'no-domain', out: null, local: [], remote: [] }, // port 5 is no member
    { action: 'flood', drop: null, out: null, local: [2, 3], remote: ['0@100', '1@100'] }, // multicast floods
  ];
  for (let k = 0; k < want.length; k++) t.match(got[k], want[k], `frame ${k}`);
  t.equal(br.stage.counter(br.dom, 'unicast'), 4);
  t.equal(br.stage.counter(br.dom, 'flooded'), 3);
  t.equal(br.stage.counter(br.dom, 'flood-copies'), 4 + 3 + 4);
  t.equal(br.table.counter(br.dom, 'learned'), 5, 'A, B, C, D, E learned');
  t.equal(br.stage.dropCount(br.dom, 'same-port'), 1);
  t.equal(br.stage.dropCount(-1, 'no-domain'), 2);
});

t.test('copies carry the egress VLAN tag; head-end replication encapsulates one copy per remote', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'her', `
plain('${E}', 'ff:ff:ff:ff:ff:ff', 5.0, vlan=30)
plain('${A}', '${E}', 5.1)
`);
  const all = loadBatch(pcap, [3, 1]);
  const br = bridge();
  // Frame 0 from the trunk (tag 30): flooded to ports 1, 2 untagged and to both remotes.
  const b0 = single(all, 0);
  const r0 = br.step(b0);
  t.same(r0.local, [1, 2]);
  t.same(r0.remote, ['0@100', '1@100']);
  t.equal(r0.remoteDom, br.dom);
  const localOut = join(dir, 'local.pcap');
  const w = new PcapWriter(localOut);
  for (let j = 0; j < br.local.count; j++) w.write(br.local.data, br.local.offset[j], br.local.length[j], br.local.wireLength[j], 5, 0);
  const encap = new EncapStage({ type: 'vxlan', vni: 100, local: '10.0.0.1', remotes: [{ ip: '10.0.0.2' }, { ip: '10.0.0.3' }] });
  encap.process(br.remote);
  const herOut = join(dir, 'her.pcap');
  const w2 = new PcapWriter(herOut);
  for (let j = 0; j < br.remote.count; j++) {
    t.equal(br.remote.drop[j], 0, `HER copy ${j} encapsulated`);
    w2.write(br.remote.data, br.remote.offset[j], br.remote.length[j], br.remote.length[j], 5, 0);
  }
  w2.close();
  // Frame 1 to E: unicast to the trunk, tagged 30 again.
  br.step(single(all, 1));
  for (let j = 0; j < br.local.count; j++) w.write(br.local.data, br.local.offset[j], br.local.length[j], br.local.wireLength[j], 6, 0);
  w.close();
  t.same(tshark(localOut, ['eth.src', 'eth.dst', 'vlan.id', 'icmp.type']), [
    [E, 'ff:ff:ff:ff:ff:ff', '', '8'],
    [E, 'ff:ff:ff:ff:ff:ff', '', '8'],
    [A, E, '30', '8'],
  ], 'tag stripped towards access ports, pushed towards the trunk (tshark)');
  t.same(tshark(herOut, ['ip.dst', 'vxlan.vni', 'eth.src', 'vlan.id']), [
    ['10.0.0.2,192.168.0.2', '100', `02:00:00:00:00:01,${E}`, ''],
    ['10.0.0.3,192.168.0.2', '100', `02:00:00:00:00:01,${E}`, ''],
  ], 'one VXLAN copy per remote VTEP, inner frame untagged (tshark)');
});

t.test('MAC move is applied and counted; dampening freezes a flapping MAC to its first place', async (t) => {
  const dir = tmpDir(t);
  // A flaps between port 1 and remote 10.0.0.2, once per second.
  const pcap = scapyPcap(dir, 'flap', `
for k in range(6):
    if k % 2 == 0:
        plain('${A}', 'ff:ff:ff:ff:ff:ff', 10.0 + k)
    else:
        vx('10.0.0.2', 100, '${A}', 'ff:ff:ff:ff:ff:ff', 10.0 + k)
plain('${A}', 'ff:ff:ff:ff:ff:ff', 50.0)
vx('10.0.0.2', 100, '${A}', 'ff:ff:ff:ff:ff:ff', 51.0)
`);
  const ports = [1, 0, 1, 0, 1, 0, 1, 0];
  const events: unknown[] = [];
  const br = bridge({ flap: { maxMoves: 3, windowSeconds: 10, holdSeconds: 30 }, onEvent: (e) => events.push(e) });
  const all = loadBatch(pcap, ports);
  const [hi, lo] = parseMacWords(A);
  const where: string[] = [];
  for (let k = 0; k < all.count; k++) {
    br.step(single(all, k));
    const p = br.table.lookup(br.dom, hi, lo, br.stage.now);
    where.push(`${p & MacFlag.REMOTE ? 'R' : 'P'}${p & 0xfffff}${p & MacFlag.FROZEN ? '*' : ''}`);
  }
  // Moves 1-3 apply; the 4th (k=4) exceeds 3 in 10 s: frozen to port 1 (its place before the first move).
  t.same(where, ['P1', 'R0', 'P1', 'R0', 'P1*', 'P1*', 'P1*', 'R0'], 'place after each frame');
  t.equal(br.table.counter(br.dom, 'moved'), 3 + 1, 'three moves, then one after the hold expired');
  t.equal(br.table.counter(br.dom, 'move-dampened'), 1);
  t.equal(br.table.counter(br.dom, 'move-suppressed'), 1, 'the move at k=5 was held');
  t.match(events, [{ type: 'mac-frozen', domain: br.dom, place: localPlace(1), holdSeconds: 30 }]);
});

t.test('static entries are never moved, refreshed into dynamic or aged', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'static', `
plain('${B}', '${A}', 1.0)
plain('${A}', '${C}', 2.0)
plain('${B}', '${A}', 1000.0)
`);
  const br = bridge({ ageingSeconds: 10 });
  const [hi, lo] = parseMacWords(A);
  t.ok(br.table.addStatic(br.dom, hi, lo, localPlace(2)));
  const all = loadBatch(pcap, [1, 1, 1]);
  const r0 = br.step(single(all, 0));
  t.match(r0, { action: 'local', out: 2 }, 'to the static place');
  const r1 = br.step(single(all, 1));
  t.match(r1, { action: 'flood', local: [2, 3] }, 'A seen on port 1 still forwards (flooded, split horizon)');
  t.equal(br.table.counter(br.dom, 'static-protected'), 1);
  const r2 = br.step(single(all, 2));
  t.match(r2, { action: 'local', out: 2 }, 'still at port 2 after 1000 s (no ageing), B aged and relearned');
  br.table.ageAll(br.stage.now + 100000);
  t.equal(br.table.lookup(br.dom, hi, lo, br.stage.now + 100000), localPlace(2) | MacFlag.STATIC);
  t.equal(br.table.flush({ port: 2 }), 0, 'flush keeps statics unless asked');
  t.equal(br.table.flush({ port: 2, includeStatic: true }), 1);
});

t.test('per-port learn limit: extra sources are not learned but still forwarded', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'limit', `
for k in range(10):
    plain('00:00:00:00:01:%02x' % k, '${B}', 1.0 + k / 10)
vx('10.0.0.2', 100, '${B}', '00:00:00:00:01:02', 3.0)
vx('10.0.0.2', 100, '${B}', '00:00:00:00:01:08', 3.1)
`);
  const br = bridge({ perPortLimit: 3 });
  const all = loadBatch(pcap, Array(10).fill(1));
  const got = Array.from({ length: all.count }, (_, k) => br.step(single(all, k)));
  t.ok(got.slice(0, 10).every((g) => g.action === 'flood'), 'every frame forwarded (flooded)');
  t.equal(br.table.portCount[1], 3);
  t.equal(br.table.counter(br.dom, 'learned'), 3 + 1);
  t.equal(br.table.counter(br.dom, 'limit-port'), 7);
  t.match(got[10], { action: 'local', out: 1 }, 'a learned one is unicast');
  t.match(got[11], { action: 'flood', local: [1, 2, 3] }, 'one over the limit is flooded');
});

t.test('ageing follows capture time, per domain', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'age', `
plain('${A}', 'ff:ff:ff:ff:ff:ff', 100.0)
plain('${B}', '${A}', 109.9)
plain('${B}', '${A}', 110.05)
plain('${A}', '${B}', 110.2)
plain('${C}', '${A}', 120.1)
`);
  const br = bridge();
  br.domains.addPort(br.dom, 4, 0);
  br.table.setAgeing(br.dom, 10);
  const all = loadBatch(pcap, [1, 2, 2, 1, 4]);
  const got = Array.from({ length: all.count }, (_, k) => br.step(single(all, k)));
  t.match(got[1], { action: 'local', out: 1 }, '9.9 s after: A still known');
  t.match(got[2], { action: 'flood' }, '10.05 s after: A aged (lookup misses before the ager ran)');
  t.match(got[3], { action: 'local', out: 2 }, 'A relearned; B known');
  t.match(got[4], { action: 'local', out: 1 }, '9.9 s after A was relearned: still known');
  t.equal(br.table.counter(br.dom, 'aged'), 1, 'the dead entry was replaced by relearning, counted as aged');
  t.equal(br.table.ageAll(br.stage.now + 1000), 3);
});

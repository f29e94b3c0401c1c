/**
 * Remote VTEPs joining and leaving a running data path (EVPN routes; no
 * `remotes:` in the config): the network's encap stage appears with the first
 * remote, is rebuilt (TypeScript or C, as the plan says) with the remote list
 * in position order and the next-hop MACs known then, keeps its counters, and
 * the FDB entries of a remote that leaves go with it.
 */
import t from 'tap';
import { validateConfig } from '../../src/config/config-load.js';
import { Dataplane } from '../../src/pipeline/dataplane.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { NativeEncapStage } from '../../src/tunnel/native-encap.js';
import { nativeAvailable } from '../../src/native/addon.js';
import type { Port } from '../../src/ports/port.js';

const ips = (e: EncapStage | null): string[] => e!.config.remotes.map((r) => [...r.ip].join('.'));
const macs = (e: EncapStage | null): string[] => e!.config.remotes.map((r) => [...r.mac].map((x) => x.toString(16).padStart(2, '0')).join(':'));

function dataplane(plan: 'host' | 'native'): Dataplane {
  const cfg = validateConfig({
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'udp' },
    networks: [{ vni: 100, type: 'vxlan' }, { vni: 200, type: 'geneve' }],
    offload: plan === 'native' ? { 'encap-decap': 'native' } : {},
    'control-plane': 'evpn',
  });
  const noPort = null as unknown as Port;
  return new Dataplane({ cfg, devices: [], underlay: { key: '', ports: [], txFor: () => noPort, guards: [] } as never, remoteMacs: new Map([['192.0.2.3', '02:00:00:00:00:33']]), localMac: '02:00:00:00:00:01' });
}

for (const plan of ['host', 'native'] as const) {
  t.test(`remotes at run time (${plan} plan)`, { skip: plan === 'native' && !nativeAvailable() ? 'addon not built' : false }, async (t) => {
    const dp = dataplane(plan);
    const Impl = plan === 'native' ? NativeEncapStage : EncapStage;
    t.equal(dp.encap[0], null, 'no remote in the config: no encap stage');
    const a = dp.remotes.add(100, '192.0.2.2');
    t.ok(dp.encap[0] instanceof Impl, `the first remote builds the ${plan} encap stage`);
    t.equal(dp.remotes.add(100, '192.0.2.2'), a, 'adding it again is a no-op with the same index');
    const first = dp.encap[0]!;
    first.counters.inFrames = 7;
    dp.remotes.add(100, '192.0.2.3');
    const enc = dp.encap[0]!;
    t.not(enc, first, 'a new remote: a new stage');
    t.same(ips(enc), ['192.0.2.2', '192.0.2.3'], 'remotes in position order');
    t.same(macs(enc), ['ff:ff:ff:ff:ff:ff', '02:00:00:00:00:33'], 'next-hop MACs known then (broadcast until resolved)');
    t.equal(enc.counters.inFrames, 7, 'counters carried over');
    t.equal(dp.encap[1], null, 'the other network is untouched');
    t.throws(() => dp.remotes.add(100, '2001:db8::1'), /address family/, 'wrong address family refused');
    t.throws(() => dp.remotes.add(100, '192.0.2.1'), /local underlay address/, 'own address refused');
    t.throws(() => dp.remotes.add(300, '192.0.2.9'), /no network has VNI 300/, 'unknown VNI refused');

    dp.addStatic(100, '02:00:00:00:0a:01', undefined, '192.0.2.2');
    dp.addStatic(100, '02:00:00:00:0a:02', undefined, '192.0.2.3');
    t.ok(dp.remotes.remove(100, '192.0.2.2'), 'removed');
    t.notOk(dp.remotes.remove(100, '192.0.2.2'), 'a second removal is a no-op');
    t.same(ips(dp.encap[0]), ['192.0.2.3'], 'encap rebuilt without it');
    t.same(dp.table.dump().map((e) => dp.domains.remoteIp(e.out)), ['192.0.2.3'], 'its FDB entries went with it, the others stay');
    dp.remotes.remoteMacs.set('192.0.2.3', '02:00:00:00:00:44');
    dp.remotes.refreshVtep('192.0.2.3');
    t.same(macs(dp.encap[0]), ['02:00:00:00:00:44'], 'a changed next-hop MAC rebuilds the templates');

    // A reload: the next data path gets the run-time remotes (what was removed stays removed).
    const next = dataplane(plan);
    t.equal(next.remotes.carryFrom(dp.remotes), 1, 'one run-time remote carried');
    t.same(ips(next.encap[0]), ['192.0.2.3'], '... with its encap stage');
    t.equal(next.encap[1], null, 'the other network still has none');
  });
}

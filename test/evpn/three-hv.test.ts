/**
 * Three hypervisors on one underlay segment, each with its own gobgpd (iBGP
 * full mesh) and a vtepd with control-plane evpn and NO remotes configured:
 * every VM reaches every other (ping, and TCP with a sha256 of both ends),
 * which only works if type-3 routes built the flood lists and type-2 routes
 * the FDBs. Then a MAC moves from hv1 to hv2 and the other two follow it
 * within a second with its MAC Mobility sequence number; then stopping hv3's
 * vtepd withdraws its routes everywhere. Once with the TypeScript stages, once
 * with the C stages (offload: native).
 */
import t from 'tap';
import { EvpnLab, evpnLabSkip, sleep, type Hv } from '../../src/lab/evpn-lab.js';
import type { EvpnSnapshot } from '../../src/evpn/snapshot.js';
import { closeOnExit } from '../daemon/support.js';

const skip = evpnLabSkip();

// Both vtepd data paths: remotes joining at run time rebuild TypeScript and C encap stages alike.
for (const plan of ['host', 'native'] as const) t.test(`three hypervisors, EVPN over GoBGP, no remotes configured (${plan} plan)`, { skip }, async (t) => {
  const lab = new EvpnLab(`ev3${plan[0]}${process.pid % 100000}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const offload = plan === 'native' ? { 'encap-decap': 'native', 'forwarding-learning': 'native' } : undefined;
  // The mobile VM: one namespace with a leg to hv1 (up) and a leg to hv2 (down until it moves).
  const mob = lab.addVm(lab.hv(1), 'mob', '02:00:00:00:aa:01', '10.10.0.100', 'mv1');
  lab.addVm(lab.hv(2), 'mob', '02:00:00:00:aa:01', '10.10.0.100', 'mv2');
  for (const h of lab.hvs) lab.startGobgp(h);
  for (const h of lab.hvs) await lab.startVtepd(h, { offload });

  const show = (h: Hv): Promise<EvpnSnapshot> => lab.request(h, 'evpn.show') as Promise<EvpnSnapshot>;
  // Every vtepd sees both others as remote VTEPs (type-3 routes).
  const meshMs = await lab.until(async () => {
    for (const h of lab.hvs) {
      const s = await show(h);
      if ((s.networks[0]?.remotes.length ?? 0) !== 2) return false;
    }
    return true;
  }, 30000);
  t.ok(meshMs >= 0, `every hypervisor has the other two as remote VTEPs from type-3 routes (${meshMs} ms)`);
  if (meshMs < 0) {
    for (const h of lab.hvs) t.comment(JSON.stringify((await show(h)).networks), lab.tail(h.vtepd!));
    return;
  }

  const vms = ['vm1', 'vm2', 'vm3'];
  for (const a of vms) {
    for (const b of vms) {
      if (a === b) continue;
      const r = await lab.ping(a, lab.vm(b).ip, 3, 1500);
      t.equal(r.received, r.sent, `${a} -> ${b}: ${r.received}/${r.sent} echo replies`);
    }
  }
  // Type-2 routes: each hypervisor's FDB holds the other VMs behind their VTEPs as static (EVPN) entries.
  await sleep(300);
  for (const h of lab.hvs) {
    const fdb = await lab.fdb(h);
    for (const o of lab.hvs.filter((x) => x !== h)) {
      const e = fdb.find((x) => x.mac === `02:00:00:00:0${o.n}:01`);
      t.ok(e && e.remote === o.ip && e.static, `hv${h.n}: vm${o.n}'s MAC is a static entry behind ${o.ip}`);
    }
  }
  for (const [a, b] of [['vm1', 'vm2'], ['vm2', 'vm3'], ['vm3', 'vm1']] as const) {
    const r = await lab.bulk(a, b, 2_000_000);
    t.equal(r.got.bytes, 2_000_000, `${a} -> ${b} TCP: all bytes arrived`);
    t.equal(r.got.sha, r.sent.sha, `${a} -> ${b} TCP: sha256 equal on both ends`);
  }

  // MAC mobility: the mobile VM talks on hv1, then moves to hv2.
  t.equal((await lab.ping('mob', lab.vm('vm3').ip, 2, 1500)).received, 2, 'mobile VM reachable behind hv1');
  const at = async (h: Hv, mac: string): Promise<string | null> => (await lab.fdb(h)).find((e) => e.mac === mac)?.remote ?? null;
  t.equal(await lab.until(async () => (await at(lab.hv(3), mob.mac)) === lab.hv(1).ip, 2000) >= 0, true, 'hv3 has the mobile MAC behind hv1');
  lab.vmDown('mob', 'eth0');
  lab.vmUp('mob', 'eth1', mob.ip);
  // The first frame from the new place comes from a tool that takes a few hundred ms to start:
  // time from hv2 learning the MAC on its port to hv1 and hv3 pointing at hv2 (all polled every 5 ms).
  void lab.ping('mob', lab.vm('vm3').ip, 1, 500).catch(() => undefined);
  let learnedAt = 0;
  let followedAt = 0;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && followedAt === 0) {
    if (learnedAt === 0 && (await lab.fdb(lab.hv(2))).some((e) => e.mac === mob.mac && e.port !== null)) learnedAt = Date.now();
    if (learnedAt !== 0 && (await at(lab.hv(3), mob.mac)) === lab.hv(2).ip && (await at(lab.hv(1), mob.mac)) === lab.hv(2).ip) followedAt = Date.now();
    await sleep(5);
  }
  t.ok(learnedAt > 0, 'hv2 learned the mobile MAC on its port');
  t.ok(followedAt > 0 && followedAt - learnedAt < 1000, `hv1 and hv3 follow the move to hv2 within a second (${followedAt - learnedAt} ms after hv2 learned it)`);
  const s3 = await show(lab.hv(3));
  const r3 = s3.routesIn?.find((r) => r.mac === mob.mac && r.installed);
  t.equal(r3?.seq, 1, 'hv3 installed the route with MAC Mobility sequence number 1');
  t.equal(r3?.nextHop, lab.hv(2).ip, '... from hv2');
  const s2 = await show(lab.hv(2));
  t.equal(s2.routesOut?.find((r) => r.mac === mob.mac)?.seq, 1, 'hv2 advertises it with sequence 1');
  t.equal(await lab.until(async () => !(await show(lab.hv(1))).routesOut?.some((r) => r.mac === mob.mac), 2000) >= 0, true, 'hv1 withdrew its own route for the MAC');
  const r = await lab.ping('vm3', mob.ip, 3, 1500);
  t.equal(r.received, 3, 'vm3 reaches the mobile VM at its new place');

  // Stopping hv3's vtepd withdraws its routes: the others drop vm3's MAC and hv3 as a remote.
  t.equal(await lab.stop(lab.hv(3).vtepd), 0, 'hv3 vtepd stopped cleanly');
  const goneMs = await lab.until(async () => {
    for (const h of [lab.hv(1), lab.hv(2)]) {
      const s = await show(h);
      if (s.networks[0].remotes.includes(lab.hv(3).ip)) return false;
      if ((await lab.fdb(h)).some((e) => e.mac === '02:00:00:00:03:01')) return false;
    }
    return true;
  }, 5000);
  t.ok(goneMs >= 0, `hv1 and hv2 removed hv3 and vm3's MAC after hv3 stopped (${goneMs} ms)`);
  const c1 = (await show(lab.hv(1))).counters;
  t.ok(c1.withdrawals > 0, `hv1 counted withdrawals (${c1.withdrawals})`);
  t.equal(c1['withdraw-unknown'], 0, 'no withdrawal of an unknown route');
});

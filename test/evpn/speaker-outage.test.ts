/**
 * The speaker goes away and comes back. hv1's gobgpd is killed: vtepd keeps
 * the remote entries it had (traffic keeps flowing), marks them stale, and
 * when gobgpd is back it resynchronises: remote routes confirmed, its own
 * routes advertised again (hv2 sees hv1's VM again). After a reload (SIGHUP:
 * a new data plane, EVPN state re-applied) with a short hold time the stale
 * entries are flushed when it runs out, and come back on reconnect.
 */
import t from 'tap';
import { EvpnLab, evpnLabSkip, sleep } from '../../src/lab/evpn-lab.js';
import type { EvpnSnapshot } from '../../src/evpn/snapshot.js';
import { closeOnExit } from '../daemon/support.js';

const skip = evpnLabSkip();
const HOLD = 3;
const LONG_HOLD = 60;

t.test('speaker outage: hold time, flush, resync', { skip }, async (t) => {
  const lab = new EvpnLab(`evo${process.pid % 100000}`, 2);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [hv1, hv2] = lab.hvs;
  for (const h of lab.hvs) lab.startGobgp(h);
  // First a hold time longer than a gobgpd restart (its BGP sessions take seconds to come back), later a short one.
  for (const h of lab.hvs) await lab.startVtepd(h, { holdTime: LONG_HOLD });
  const show = (h = hv1): Promise<EvpnSnapshot> => lab.request(h, 'evpn.show') as Promise<EvpnSnapshot>;
  const vm2Mac = lab.vm('vm2').mac;
  const vm1Mac = lab.vm('vm1').mac;
  t.ok(await lab.until(async () => (await show()).networks[0].remotes.length === 1, 30000) >= 0, 'hv1 has hv2 as a remote');
  t.equal((await lab.ping('vm1', lab.vm('vm2').ip, 2, 1500)).received, 2, 'vm1 -> vm2 before the outage');
  const remoteAt = async (h: typeof hv1, mac: string): Promise<string | null> => (await lab.fdb(h)).find((e) => e.mac === mac)?.remote ?? null;
  t.ok(await lab.until(async () => (await remoteAt(hv1, vm2Mac)) === hv2.ip && (await remoteAt(hv2, vm1Mac)) === hv1.ip, 5000) >= 0, 'both FDBs hold the other VM from type-2 routes');

  // Outage shorter than the hold time: entries kept, then confirmed by the resync.
  hv1.gobgp!.child.kill('SIGKILL');
  await hv1.gobgp!.exit;
  t.ok(await lab.until(async () => !(await show()).speaker.connected, 5000) >= 0, 'vtepd notices the speaker is gone');
  let s = await show();
  t.equal(s.counts.staleRoutes, s.counts.routesIn, `every remote route is stale (${s.counts.staleRoutes})`);
  t.equal(await remoteAt(hv1, vm2Mac), hv2.ip, 'the stale entry is still in the FDB');
  // (Traffic back from hv2 stops meanwhile: hv2's own gobgpd dropped hv1's routes with the session; BGP graceful
  // restart on the peers would keep them, see docs/evpn.md. What vtepd controls is that hv1 keeps its side.)
  await sleep(1500);
  t.equal(await remoteAt(hv1, vm2Mac), hv2.ip, 'still there 1.5 s later');
  lab.startGobgp(hv1);
  t.ok(await lab.until(async () => { const x = await show(); return x.speaker.connected && x.counts.staleRoutes === 0 && x.counts.routesIn >= 2; }, 30000) >= 0, 'reconnected: routes resynchronised, none stale');
  t.equal(await remoteAt(hv1, vm2Mac), hv2.ip, 'the entry survived the outage');
  // hv2 lost hv1's routes when the BGP session dropped; the resync advertised them again.
  t.ok(await lab.until(async () => (await remoteAt(hv2, vm1Mac)) === hv1.ip, 30000) >= 0, "hv2 has vm1's MAC again (hv1 re-advertised after the reconnect)");
  t.equal((await lab.ping('vm1', lab.vm('vm2').ip, 2, 1500)).received, 2, 'vm1 -> vm2 after the resync');

  // Outage longer than the hold time: flushed, then back after the reconnect. The hold time changes by a reload (SIGHUP).
  const { writeFileSync } = await import('node:fs');
  writeFileSync(hv1.config, JSON.stringify(lab.vtepdConfig(hv1, { holdTime: HOLD })));
  hv1.vtepd!.child.kill('SIGHUP');
  await sleep(1000);
  t.equal((await lab.ping('vm1', lab.vm('vm2').ip, 2, 1500)).received, 2, 'vm1 -> vm2 after the reload (EVPN state re-applied to the new data plane)');
  hv1.gobgp!.child.kill('SIGKILL');
  await hv1.gobgp!.exit;
  const t0 = Date.now();
  const flushed = await lab.until(async () => (await remoteAt(hv1, vm2Mac)) === null, (HOLD + 5) * 1000);
  t.ok(flushed >= 0, `stale entries flushed after the hold time (${((Date.now() - t0) / 1000).toFixed(1)} s, hold ${HOLD} s)`);
  t.ok(Date.now() - t0 >= HOLD * 1000 - 500, 'not before the hold time');
  s = await show();
  t.same(s.networks[0].remotes, [], 'no remote VTEP left');
  t.ok(s.counters['stale-flushed'] >= 2, `counted stale-flushed (${s.counters['stale-flushed']})`);
  lab.startGobgp(hv1);
  t.ok(await lab.until(async () => (await remoteAt(hv1, vm2Mac)) === hv2.ip, 30000) >= 0, 'after the reconnect the entry is back');
  await sleep(200);
  t.equal((await lab.ping('vm1', lab.vm('vm2').ip, 2, 1500)).received, 2, 'vm1 -> vm2 again');
  t.equal(hv1.vtepd!.child.exitCode, null, 'vtepd ran through both outages');
});

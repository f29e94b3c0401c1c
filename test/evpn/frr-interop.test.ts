/**
 * Interop with FRR: hv1 and hv2 run vtepd + gobgpd; hv3 runs FRR (zebra +
 * bgpd, advertise-all-vni) with the Linux kernel's vxlan device and bridge,
 * built by `vtepd run` in kernel mode with control-plane evpn / speaker frr.
 * Same EVPN setup everywhere (AS 65000, auto RD/RT). The VMs reach each other
 * both ways; vtepd parsed FRR's routes (hv1's evpn show lists hv3's type-2 and
 * type-3 with FRR's RD), FRR accepted vtepd's (its own `show evpn mac` lists
 * vm1's and vm2's MACs behind their VTEPs, installed in the kernel FDB as
 * extern_learn); and vtepd's kernel-mode watch (every 5 s) leaves the entries
 * FRR installed alone.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { EvpnLab, evpnLabSkip, sleep } from '../../src/lab/evpn-lab.js';
import { bridgeFdb, frrSkip, startFrr, vtysh } from '../../src/lab/frr-lab.js';
import type { EvpnSnapshot } from '../../src/evpn/snapshot.js';
import { closeOnExit } from '../daemon/support.js';

const skip = evpnLabSkip() || frrSkip();

t.test('vtepd + GoBGP interoperate with FRR + the kernel vxlan device', { skip }, async (t) => {
  const lab = new EvpnLab(`evi${process.pid % 100000}`, 3);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [hv1, hv2, hv3] = lab.hvs;
  await lab.startVtepd(hv3, {}, {
    underlay: { interface: 'ul0', address: hv3.ip },
    ports: [{ name: 'vm3', interface: 'vm3' }],
    networks: [{ vni: 100, type: 'vxlan', ports: ['vm3'] }],
    offload: { 'encap-decap': 'kernel', 'forwarding-learning': 'kernel', checksum: 'kernel', segmentation: 'kernel' },
    'control-plane': 'evpn',
    evpn: { speaker: 'frr' },
    control: { socket: hv3.socket },
    metrics: { enabled: false },
  });
  const frr = startFrr(lab, hv3);
  for (const h of [hv1, hv2]) lab.startGobgp(h);
  for (const h of [hv1, hv2]) await lab.startVtepd(h);
  const show = (h = hv1): Promise<EvpnSnapshot> => lab.request(h, 'evpn.show') as Promise<EvpnSnapshot>;
  const meshMs = await lab.until(async () => (await show(hv1)).networks[0].remotes.length === 2 && (await show(hv2)).networks[0].remotes.length === 2, 40000);
  t.ok(meshMs >= 0, `hv1 and hv2 have both other VTEPs, hv3's from FRR's type-3 route (${meshMs} ms)`);
  if (meshMs < 0) { t.comment(lab.tail(frr.bgpd), lab.tail(hv1.vtepd!)); return; }

  for (const [a, b] of [['vm1', 'vm3'], ['vm3', 'vm1'], ['vm2', 'vm3'], ['vm3', 'vm2'], ['vm1', 'vm2']] as const) {
    const r = await lab.ping(a, lab.vm(b).ip, 3, 1500);
    t.equal(r.received, r.sent, `${a} -> ${b}: ${r.received}/${r.sent} echo replies`);
  }
  for (const [a, b] of [['vm1', 'vm3'], ['vm3', 'vm2']] as const) {
    const r = await lab.bulk(a, b, 2_000_000);
    t.equal(r.got.sha, r.sent.sha, `${a} -> ${b} TCP 2 MB: sha256 equal on both ends (${r.got.bytes} bytes)`);
  }

  // FRR's routes, parsed by vtepd.
  const s1 = await show(hv1);
  const fromFrr = (s1.routesIn ?? []).filter((r) => r.nextHop === hv3.ip);
  t.ok(fromFrr.some((r) => r.type === 3 && r.ip === hv3.ip && r.encap.includes('vxlan') && r.vni === 100), "hv1 took FRR's type-3 route (VXLAN, PMSI label 100)");
  t.ok(fromFrr.some((r) => r.type === 2 && r.mac === lab.vm('vm3').mac && r.installed), "hv1 installed FRR's type-2 route for vm3");
  t.ok(fromFrr.every((r) => r.rd.startsWith(`${hv3.ip}:`) && r.rt.includes('65000:100')), `FRR's auto RD/RT are what vtepd derives too (${fromFrr.map((r) => r.rd).join(', ')}; RT 65000:100)`);
  const e3 = (await lab.fdb(hv1)).find((e) => e.mac === lab.vm('vm3').mac);
  t.equal(e3?.remote, hv3.ip, "hv1's FDB has vm3 behind hv3");

  // vtepd's routes, accepted by FRR.
  const macs = JSON.parse(await vtysh(hv3, frr, 'show evpn mac vni 100 json')) as { macs?: Record<string, { type: string; remoteVtep?: string }> };
  for (const h of [hv1, hv2]) {
    const m = macs.macs?.[lab.vm(`vm${h.n}`).mac];
    t.same({ type: m?.type, vtep: m?.remoteVtep }, { type: 'remote', vtep: h.ip }, `FRR has vm${h.n}'s MAC as remote behind ${h.ip}`);
  }
  // FRR 8.4 names the list of remote VTEPs of a VNI "numRemoteVteps".
  const vteps = JSON.parse(await vtysh(hv3, frr, 'show evpn vni 100 json')) as { numRemoteVteps?: string[] };
  t.same([...(vteps.numRemoteVteps ?? [])].sort(), [hv1.ip, hv2.ip], "FRR built its flood list from vtepd's type-3 routes");

  // vtepd's kernel-mode watch (every 5 s) must not "repair" what FRR installed.
  const frrEntries = (): string[] => bridgeFdb(hv3.ns, 'vtx100')
    .filter((r) => r.dst !== undefined)
    .map((r) => `${r.mac} ${r.dst} ${(r.flags ?? []).includes('extern_learn') ? 'extern_learn' : r.state}`).sort();
  const before = frrEntries();
  // An independent witness: the kernel's own FDB notifications while vtepd's watch runs twice.
  const monitor = spawn('ip', ['netns', 'exec', hv3.ns, 'bridge', 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let events = '';
  monitor.stdout!.on('data', (d: Buffer) => { events += d.toString(); });
  t.ok(before.includes(`${lab.vm('vm1').mac} ${hv1.ip} extern_learn`), 'kernel FDB on hv3: vm1 installed by FRR (extern_learn)');
  t.ok(before.includes(`00:00:00:00:00:00 ${hv1.ip} permanent`) && before.includes(`00:00:00:00:00:00 ${hv2.ip} permanent`), 'kernel FDB on hv3: head-end replication entries installed by FRR');
  await sleep(11000);
  monitor.kill('SIGTERM');
  t.same(frrEntries(), before, "after two of vtepd's watch rounds FRR's entries are all still there");
  t.notMatch(events, /^Deleted/m, `the kernel saw no FDB entry deleted meanwhile (bridge monitor fdb: ${events.split('\n').filter(Boolean).length} events)`);
  const log = readFileSync(hv3.vtepd!.log, 'utf8');
  t.notMatch(log, /"event":"repair"/, 'vtepd logged no repair');
  const r = await lab.ping('vm1', lab.vm('vm3').ip, 3, 1500);
  t.equal(r.received, 3, 'vm1 -> vm3 still works after the watch rounds');
});

/**
 * `vtepd learn`: replay scapy-built captures (VXLAN over IPv4 and IPv6, GENEVE
 * on a custom port, plain untagged and VLAN-tagged frames) and compare the
 * printed table with the one written down from the capture by hand; check the
 * same file gives the same output twice, and that ageing follows capture time.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scapyPcap, tmpDir, tshark } from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const vtepd = (...args: string[]): string => execFileSync('node', [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const M1 = '00:00:00:00:00:01', M2 = '00:00:00:00:00:02', M3 = '00:00:00:00:00:03', M4 = '00:00:00:00:00:04';

t.test('final table of a mixed capture', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'mixed', `
from scapy.contrib.geneve import GENEVE
vx('10.0.0.2', 100, '${M1}', 'ff:ff:ff:ff:ff:ff', 1000.0)
vx('10.0.0.3', 100, '${M2}', '${M1}', 1001.0)
vx('10.0.0.3', 200, '${M1}', '${M2}', 1002.0)   # same MAC, other VNI: another domain
vx('fd00::7', 300, '${M3}', 'ff:ff:ff:ff:ff:ff', 1003.0, v6=True)
g = Ether(src='02:aa:00:00:00:01', dst='02:bb:00:00:00:01') / IP(src='10.0.0.4', dst='10.0.0.1') / UDP(sport=50000, dport=7000) / GENEVE(vni=400, proto=0x6558) / inner('${M4}', 'ff:ff:ff:ff:ff:ff')
g.time = 1004.0
pk.append(g)
plain('${M1}', 'ff:ff:ff:ff:ff:ff', 1005.0)
plain('${M1}', 'ff:ff:ff:ff:ff:ff', 1006.0, vlan=10)
plain('${M2}', '${M1}', 1007.0, vlan=10)
vx('10.0.0.2', 100, '${M2}', '${M1}', 1008.5)  # M2 moves from 10.0.0.3 to 10.0.0.2
plain('${M3}', '${M1}', 1010.0)
`);
  const json = vtepd('learn', pcap, '--json', '--geneve-port', '7000');
  t.equal(json.trim().split('\n').length, 1, 'one JSON document');
  const rows = JSON.parse(json) as Record<string, unknown>[];
  // Key names as vtepd fdb show -j (iproute2's where they mean the same: ifname, dst, state).
  const e = (vni: number | null, vlan: number | null, mac: string, remote: string | null, port: string | null, age: number) =>
    ({ mac, vni, vlan, state: 'learned', ageSeconds: age, ...(port !== null ? { ifname: port } : {}), ...(remote !== null ? { dst: remote } : {}) });
  t.same(rows, [
    e(100, null, M1, '10.0.0.2', null, 10),
    e(100, null, M2, '10.0.0.2', null, 1.5),
    e(200, null, M1, '10.0.0.3', null, 8),
    e(300, null, M3, 'fd00::7', null, 7),
    e(400, null, M4, '10.0.0.4', null, 6),
    e(null, 0, M1, null, 'pcap0', 5),
    e(null, 0, M3, null, 'pcap0', 0),
    e(null, 10, M1, null, 'pcap0', 4),
    e(null, 10, M2, null, 'pcap0', 3),
  ], 'one entry per (domain, MAC), VNI domains first, ages from the last capture timestamp');
  const text = vtepd('learn', pcap, '--geneve-port', '7000');
  t.equal(text.split('\n')[1], `${M2} vni 100 dst 10.0.0.2 learned age 1.50`, 'text line like bridge fdb show');
  t.equal(text.trim().split('\n').length, rows.length);
  t.equal(vtepd('learn', pcap, '--json', '--geneve-port', '7000'), json, 'a second replay prints the same table');
  // Without --geneve-port 7000 the GENEVE frame is a plain UDP frame of the outer Ethernet addresses.
  const noGeneve = JSON.parse(vtepd('learn', pcap, '--json')) as { vni: number | null; mac: string }[];
  t.notOk(noGeneve.some((r) => r.vni === 400), 'no VNI 400 domain without the GENEVE port');
  t.ok(noGeneve.some((r) => r.mac === '02:aa:00:00:00:01' && r.vni === null), 'its outer source learned as a plain host instead');
});

t.test('--ageing drops entries older than the ageing time at the last capture timestamp', async (t) => {
  const dir = tmpDir(t);
  const pcap = scapyPcap(dir, 'ageing', `
vx('10.0.0.2', 5, '${M1}', 'ff:ff:ff:ff:ff:ff', 0.0)
vx('10.0.0.2', 5, '${M2}', 'ff:ff:ff:ff:ff:ff', 4.0)
vx('10.0.0.2', 5, '${M3}', 'ff:ff:ff:ff:ff:ff', 7.0)
vx('10.0.0.2', 5, '${M4}', 'ff:ff:ff:ff:ff:ff', 10.0)
`);
  const macs = (args: string[]) => JSON.parse(vtepd('learn', pcap, '--json', ...args)) as { mac: string; ageSeconds: number }[];
  t.same(macs(['--ageing', '5']).map((r) => [r.mac, r.ageSeconds]), [[M3, 3], [M4, 0]], 'ageing 5 s: entries from t <= 5 are gone');
  t.same(macs(['--ageing', '7']).map((r) => r.mac), [M2, M3, M4], 'ageing 7 s: 6 s old stays, 10 s old goes');
  t.same(macs([]).map((r) => r.mac), [M1, M2, M3, M4], 'default 300 s keeps all');
});

t.test('bad input gives one-line errors', async (t) => {
  const dir = tmpDir(t);
  const missing = spawnSync('node', [CLI, 'learn', join(dir, 'nope.pcap')], { encoding: 'utf8' });
  t.equal(missing.status, 1, 'a missing input is bad input (exit 1), as in dissect, encap and decap');
  t.match(missing.stderr, /^vtepd: .*nope\.pcap: no such file or directory\n$/);
  const bad = join(dir, 'bad.pcap');
  writeFileSync(bad, Buffer.from('not a capture at all, just text'));
  const r = spawnSync('node', [CLI, 'learn', bad], { encoding: 'utf8' });
  t.not(r.status, 0);
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
  const flag = spawnSync('node', [CLI, 'learn', bad, '--ageing', '0'], { encoding: 'utf8' });
  t.equal(flag.status, 2);
  t.match(flag.stderr, /option '--ageing <seconds>' argument '0' is invalid\. must be an integer 1\.\.86400/);
});

const external = fileURLToPath(new URL('../../../shared/fixtures/external/tcpdump/vxlan.pcap', import.meta.url));
t.test('external VXLAN capture: table equals the one derived from tshark fields', { skip: existsSync(external) ? false : 'shared fixtures absent' }, async (t) => {
  // Oracle: per (VNI, inner source MAC), the outer source of its last frame; age from the last timestamp.
  const rows = tshark(external, ['frame.time_epoch', 'ip.src', 'vxlan.vni', 'eth.src']);
  const last = new Map<string, { ip: string; ts: number }>();
  let end = 0;
  for (const [ts, ips, vni, macs] of rows) {
    end = Math.max(end, +ts);
    if (!vni) continue;
    last.set(`${vni} ${macs.split(',')[1]}`, { ip: ips.split(',')[0], ts: +ts });
  }
  const want = [...last.entries()].map(([k, v]) => ({ vni: +k.split(' ')[0], mac: k.split(' ')[1], remote: v.ip, age: end - v.ts }))
    .sort((a, b) => a.vni - b.vni || (a.mac < b.mac ? -1 : 1));
  const got = JSON.parse(vtepd('learn', external, '--json')) as { vni: number; mac: string; dst: string; ageSeconds: number }[];
  t.same(got.map((g) => [g.vni, g.mac, g.dst]), want.map((w) => [w.vni, w.mac, w.remote]), 'same entries, same places, same order');
  got.forEach((g, k) => t.ok(Math.abs(g.ageSeconds - want[k].age) <= 0.011, `${g.mac} age ${g.ageSeconds} vs ${want[k].age.toFixed(3)} (1/100 s ticks)`));
});

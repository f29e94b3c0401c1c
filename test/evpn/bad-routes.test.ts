/**
 * Malformed and unexpected EVPN routes, injected through GoBGP's own CLI on a
 * second hypervisor's gobgpd (so they reach vtepd over real BGP and gobgpd's
 * WatchEvent, exactly as a misbehaving peer's would): every one is counted
 * under its reason and logged, vtepd keeps running, its FDB keeps exactly the
 * good entries, and a good route sent afterwards is still installed.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EvpnLab, evpnLabSkip, GOBGP, VTEPD_MAIN, type Hv } from '../../src/lab/evpn-lab.js';
import type { EvpnSnapshot } from '../../src/evpn/snapshot.js';
import { closeOnExit } from '../daemon/support.js';

const skip = evpnLabSkip();

t.test('bad EVPN routes are counted and logged, never applied', { skip }, async (t) => {
  const lab = new EvpnLab(`evb${process.pid % 100000}`, 2);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [hv1, hv2] = lab.hvs;
  for (const h of lab.hvs) lab.startGobgp(h);
  await lab.startVtepd(hv1, {}, { ...lab.vtepdConfig(hv1), metrics: { enabled: true, listen: '127.0.0.1:9580' } });
  const show = (): Promise<EvpnSnapshot> => lab.request(hv1, 'evpn.show') as Promise<EvpnSnapshot>;
  t.ok(await lab.until(async () => (await show()).peers.some((p) => p.state === 'established'), 30000) >= 0, 'hv1 gobgpd peers with hv2');
  // hv2's gobgpd plays the peer; no vtepd there.
  const inject = (args: string): void => {
    execFileSync('ip', ['netns', 'exec', hv2.ns, GOBGP, 'global', 'rib', '-a', 'evpn', ...args.split(' ')], { stdio: 'pipe' });
  };
  const good = (mac: string): string => `macadv ${mac} 0.0.0.0 etag 0 label 100 rd 192.0.2.2:1 rt 65000:100 encap vxlan nexthop 192.0.2.2`;
  inject(`add ${good('02:00:00:00:0b:01')}`);
  inject('add multicast 192.0.2.2 etag 0 rd 192.0.2.2:1 rt 65000:100 encap vxlan pmsi ingress-repl 100 192.0.2.2 nexthop 192.0.2.2');
  const macAt = async (h: Hv, mac: string): Promise<string | null> => (await lab.fdb(h)).find((e) => e.mac === mac)?.remote ?? null;
  t.ok(await lab.until(async () => (await macAt(hv1, '02:00:00:00:0b:01')) === hv2.ip, 10000) >= 0, 'a good route is installed');

  const bad: [string, string, string][] = [
    ['unknown-rt', 'an unknown route target', 'add macadv 02:00:00:00:0b:02 0.0.0.0 etag 0 label 100 rd 192.0.2.2:2 rt 65000:999 encap vxlan nexthop 192.0.2.2'],
    ['vni-mismatch', 'a VNI (label) this host does not serve', 'add macadv 02:00:00:00:0b:03 0.0.0.0 etag 0 label 5000 rd 192.0.2.2:3 rt 65000:100 encap vxlan nexthop 192.0.2.2'],
    ['vni-out-of-range', 'VNI 0', 'add macadv 02:00:00:00:0b:04 0.0.0.0 etag 0 label 0 rd 192.0.2.2:4 rt 65000:100 encap vxlan nexthop 192.0.2.2'],
    ['next-hop-family', 'an IPv6 next hop on an IPv4 underlay', 'add macadv 02:00:00:00:0b:05 0.0.0.0 etag 0 label 100 rd 192.0.2.2:5 rt 65000:100 encap vxlan nexthop 2001:db8::5'],
    ['encap-mismatch', 'NVGRE encapsulation for a VXLAN network', 'add macadv 02:00:00:00:0b:06 0.0.0.0 etag 0 label 100 rd 192.0.2.2:6 rt 65000:100 encap nvgre nexthop 192.0.2.2'],
    ['encap-mismatch', 'no encapsulation community (MPLS)', 'add macadv 02:00:00:00:0b:07 0.0.0.0 etag 0 label 100 rd 192.0.2.2:7 rt 65000:100 nexthop 192.0.2.2'],
    ['bad-mac', 'a multicast MAC', 'add macadv 01:00:5e:00:00:01 0.0.0.0 etag 0 label 100 rd 192.0.2.2:8 rt 65000:100 encap vxlan nexthop 192.0.2.2'],
    ['route-type', 'a type-5 (IP prefix) route', 'add prefix 10.9.0.0/24 0.0.0.0 esi 0 etag 0 rd 192.0.2.2:9 rt 65000:100 gw 10.9.0.1 label 100 encap vxlan nexthop 192.0.2.2'],
    ['own-next-hop', "a route pointing at hv1's own address", 'add macadv 02:00:00:00:0b:0a 0.0.0.0 etag 0 label 100 rd 192.0.2.2:10 rt 65000:100 encap vxlan nexthop 192.0.2.1'],
    ['next-hop-family', 'a type-3 from an IPv6 originator', 'add multicast 2001:db8::7 etag 0 rd 192.0.2.2:11 rt 65000:100 encap vxlan pmsi ingress-repl 100 2001:db8::7 nexthop 2001:db8::7'],
  ];
  const before = (await show()).counters;
  for (const [, , args] of bad) inject(args);
  // A withdrawal of routes vtepd never accepted (it ignored them): counted, nothing removed.
  inject('del macadv 02:00:00:00:0b:02 0.0.0.0 etag 0 label 100 rd 192.0.2.2:2');
  inject('del macadv 02:00:00:00:0b:05 0.0.0.0 etag 0 label 100 rd 192.0.2.2:5');
  inject(`add ${good('02:00:00:00:0b:0f')}`);
  t.ok(await lab.until(async () => (await macAt(hv1, '02:00:00:00:0b:0f')) === hv2.ip, 10000) >= 0, 'a good route sent after the bad ones is still installed');
  const after = (await show()).counters;
  const want = new Map<string, number>();
  for (const [reason] of bad) want.set(reason, (want.get(reason) ?? 0) + 1);
  for (const [reason, n] of want) {
    const got = after[reason as keyof typeof after] - before[reason as keyof typeof before];
    t.equal(got, n, `${reason}: ${n} counted (${bad.filter((b) => b[0] === reason).map((b) => b[1]).join('; ')})`);
  }
  t.equal(after['withdraw-unknown'] - before['withdraw-unknown'], 2, 'withdrawals of never-accepted routes counted');
  t.equal(hv1.vtepd!.child.exitCode, null, 'vtepd is still running');
  const fdb = await lab.fdb(hv1);
  const remote = fdb.filter((e) => e.remote !== null).map((e) => e.mac).sort();
  t.same(remote, ['02:00:00:00:0b:01', '02:00:00:00:0b:0f'], 'the FDB holds exactly the two good remote MACs');
  const s = await show();
  t.same(s.networks[0].remotes, [hv2.ip], 'the only remote VTEP is hv2 (no IPv6 or foreign VTEP got in)');
  const log = readFileSync(hv1.vtepd!.log, 'utf8');
  for (const reason of want.keys()) t.match(log, new RegExp(`"reason":"${reason}"`), `logged: ${reason}`);

  // As an operator sees it: the CLI and Prometheus (inside hv1's namespace).
  const cli = execFileSync(process.execPath, [VTEPD_MAIN, 'evpn', 'show', '--socket', hv1.socket], { encoding: 'utf8' });
  t.match(cli, /speaker 127\.0\.0\.1:50051: connected/, 'vtepd evpn show: session line');
  t.match(cli, /192\.0\.2\.2\s+AS 65000\s+established/, 'vtepd evpn show: the peer');
  t.match(cli, /< type-2 \[192\.0\.2\.2:1\] 02:00:00:00:0b:01 label 100 via 192\.0\.2\.2 rt 65000:100 encap vxlan/, 'vtepd evpn show: a route in');
  t.match(cli, /unknown-rt\s+1/, 'vtepd evpn show: counters');
  const json = JSON.parse(execFileSync(process.execPath, [VTEPD_MAIN, 'evpn', 'show', '--json', '--no-routes', '--socket', hv1.socket], { encoding: 'utf8' })) as EvpnSnapshot;
  t.equal(json.routesIn, null, '--no-routes leaves the lists out');
  t.equal(json.counts.routesIn, 3, '... but counts them (type-3 + two type-2)');
  const metrics = execFileSync('ip', ['netns', 'exec', hv1.ns, process.execPath, '-e',
    "fetch('http://127.0.0.1:9580/metrics').then((r) => r.text()).then((x) => process.stdout.write(x))"], { encoding: 'utf8' });
  t.match(metrics, /vtepd_evpn_events_total\{event="unknown-rt"\} 1/, 'metric: unknown-rt');
  t.match(metrics, /vtepd_evpn_events_total\{event="encap-mismatch"\} 2/, 'metric: encap-mismatch');
  t.match(metrics, /vtepd_evpn_speaker_up 1/, 'metric: speaker up');
  t.match(metrics, /vtepd_evpn_routes\{direction="in"\} 3/, 'metric: routes in');
  t.match(metrics, /vtepd_evpn_peer_established\{peer="192\.0\.2\.2"\} 1/, 'metric: peer established');
});

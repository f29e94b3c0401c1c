/**
 * AF_XDP ring drops at daemon level, exact and visible everywhere: with small
 * rings and the receiving daemon stopped (SIGSTOP), a burst overflows its
 * underlay socket; every frame hv1 sent is either received or counted with its
 * reason, as veth's own XDP counters say too, and the same numbers show in
 * `vtepd ports`, `vtepd stats --json` and the Prometheus endpoint.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { MAIN, daemonTestSkip, closeOnExit } from './support.js';
import { port, stats } from './live-exercise.js';
import { ethtoolStat } from '../ports/fixtures/xdp.js';

const skip = daemonTestSkip();
const N = 600;

t.test('ring drops: counted exactly, by reason, in every view', { skip, timeout: 120_000 }, async (t) => {
  const lab = new OverlayLab(`vts${process.pid}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const small = { rxSize: 64, fillSize: 64, txSize: 64, compSize: 64 };
  await lab.startDaemons({ type: 'vxlan', backend: 'afxdp', transport: 'afxdp', afxdp: small, metricsListen: '127.0.0.1:9580' });
  t.equal((await lab.ping('vm11', 'vm21', 2)).received, 2, 'learned both ways');
  const [s1, s2] = lab.daemons.map((d) => d.socket);
  const hv2 = lab.topo.hvNs[1];
  const a1 = await stats(s1);
  const a2 = await stats(s2);
  const redirect0 = ethtoolStat(hv2, 'ul0', 'rx_queue_0_xdp_redirect');
  const drops0 = ethtoolStat(hv2, 'ul0', 'rx_queue_0_drops');

  lab.daemons[1].child.kill('SIGSTOP'); // hv2 reads nothing: its 64-frame rings fill up
  const tx = new AfPacketPort({ interface: 'eth0', netns: lab.vm('vm11').ns, name: 'burst' });
  const b = new PacketBatch({ capacity: 100 });
  const f = new Uint8Array(100);
  f.set(lab.vm('vm21').mac.split(':').map((x) => parseInt(x, 16)), 0);
  f.set(lab.vm('vm11').mac.split(':').map((x) => parseInt(x, 16)), 6);
  f[12] = 0x88; f[13] = 0xb5;
  for (let i = 0; i < 100; i++) b.append(f, 0, 100, 100, 0, 0);
  for (let k = 0; k < N / 100; k++) { t.equal(tx.transmit(b), 100); await sleep(20); }
  await tx.close();
  await sleep(300);
  lab.daemons[1].child.kill('SIGCONT');
  await sleep(500);

  const b1 = await stats(s1);
  const b2 = await stats(s2);
  const d1 = (s: StatsSnapshot, a: StatsSnapshot, name: string, k: 'rxPackets' | 'txPackets' | 'kernelDrops') => port(s, name)[k] - port(a, name)[k];
  const reasons = (s: StatsSnapshot, a: StatsSnapshot, name: string) => {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(port(s, name).dropReasons ?? {})) if (v - (port(a, name).dropReasons?.[k] ?? 0) > 0) out[k] = v - (port(a, name).dropReasons?.[k] ?? 0);
    return out;
  };
  // hv1: every frame of the burst was read from vm11 or dropped by its small rings, with the reason.
  const lost1 = d1(b1, a1, 'vm11', 'kernelDrops');
  t.equal(d1(b1, a1, 'vm11', 'rxPackets') + lost1, N, `hv1 vm11: ${d1(b1, a1, 'vm11', 'rxPackets')} read + ${lost1} dropped by the kernel = ${N}`);
  const sent = d1(b1, a1, 'ul0', 'txPackets');
  t.equal(sent, d1(b1, a1, 'vm11', 'rxPackets'), 'hv1 forwarded every frame it read');
  // hv2: read + dropped = what hv1 sent; the drops have reasons; veth agrees.
  const got = d1(b2, a2, 'ul0', 'rxPackets');
  const lost2 = d1(b2, a2, 'ul0', 'kernelDrops');
  const why = reasons(b2, a2, 'ul0');
  t.ok(lost2 > 0 && got > 0, `hv2's rings overflowed (${got} read, ${lost2} dropped: ${JSON.stringify(why)})`);
  t.equal(got + lost2, sent, 'hv2: every frame either read or counted');
  t.equal(Object.values(why).reduce((x, y) => x + y, 0), lost2, 'every drop has a reason');
  t.ok(Object.keys(why).every((k) => k === 'xsk-fill-empty' || k === 'xsk-rx-ring-full'), 'ring reasons only');
  t.equal(ethtoolStat(hv2, 'ul0', 'rx_queue_0_xdp_redirect') - redirect0, got, "veth's own count of redirected frames = read");
  t.equal(ethtoolStat(hv2, 'ul0', 'rx_queue_0_drops') - drops0, lost2, "veth's own count of frames whose redirect failed = dropped");

  // The same numbers in every view of hv2.
  const json = JSON.parse(execFileSync(process.execPath, [MAIN, 'ports', '--json', '--socket', s2], { encoding: 'utf8' })) as StatsSnapshot['ports'];
  const ul = json.find((p) => p.name === 'ul0')!;
  t.same(ul.dropReasons, port(b2, 'ul0').dropReasons, 'vtepd ports --json: drops by reason');
  t.match(ul.details, { xdpMode: 'native', socketMode: 'copy', attachedVia: 'link', queues: '0' }, 'and the AF_XDP facts');
  const text = execFileSync(process.execPath, [MAIN, 'ports', '--socket', s2], { encoding: 'utf8' });
  const total = port(b2, 'ul0').kernelDrops;
  t.match(text, new RegExp(`^\\s+ul0\\s+ul0\\s+afxdp\\s+underlay\\s.*\\s${total}$`, 'm'), 'vtepd ports: the kernel-drops column');
  for (const [k, v] of Object.entries(port(b2, 'ul0').dropReasons ?? {})) t.match(text, new RegExp(`drops: .*${k}=${v}`), `vtepd ports: ${k}=${v}`);
  t.match(text, /afxdp: xdpMode=native attachedVia=link .*socketMode=copy/);
  const st = JSON.parse(execFileSync(process.execPath, [MAIN, 'stats', '--json', '--socket', s2], { encoding: 'utf8' })) as StatsSnapshot;
  for (const [k, v] of Object.entries(port(b2, 'ul0').dropReasons ?? {})) t.ok((st.drops[`port/${k}`] ?? 0) >= v, `vtepd stats: port/${k}`);
  const code = "fetch('http://127.0.0.1:9580/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))";
  const prom = execFileSync('ip', ['netns', 'exec', hv2, process.execPath, '-e', code], { encoding: 'utf8' });
  for (const [k, v] of Object.entries(port(b2, 'ul0').dropReasons ?? {})) {
    t.match(prom, new RegExp(`^vtepd_port_drops_by_reason_total\\{port="ul0",interface="ul0",role="underlay",reason="${k}"\\} ${v}$`, 'm'), `metrics: ${k}`);
  }
  t.match(prom, new RegExp(`^vtepd_port_kernel_drops_total\\{port="ul0",interface="ul0",role="underlay"\\} ${total}$`, 'm'));
});

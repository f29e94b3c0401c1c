/**
 * AF_XDP and the daemon's life: `vtepd run` with AF_XDP ports and underlay is
 * killed with SIGKILL in the middle of traffic. With the usual bpf_link attach
 * the kernel removes its XDP programs with the process; attached through
 * netlink (as on kernels before 5.9, VTEPD_XDP_ATTACH=netlink) they stay, and
 * the next start finds them, replaces them and logs it. Someone else's program
 * stops the start with the command that removes it. SIGTERM leaves nothing.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { AfPacketPort } from '../../src/ports/af-packet-port.js';
import { daemonTestSkip, closeOnExit } from './support.js';
import { port, stats } from './live-exercise.js';
import { foreignXdpObject, xdpPrograms } from '../ports/fixtures/xdp.js';

const skip = daemonTestSkip();

/** Frames from vm11 to vm21 every few ms until stop() (traffic through both daemons). */
function traffic(lab: OverlayLab): { stop(): Promise<number> } {
  const tx = new AfPacketPort({ interface: 'eth0', netns: lab.vm('vm11').ns, name: 'load' });
  const b = new PacketBatch({ capacity: 32 });
  const f = new Uint8Array(200);
  const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
  f.set(mac(lab.vm('vm21').mac), 0);
  f.set(mac(lab.vm('vm11').mac), 6);
  f[12] = 0x88; f[13] = 0xb5;
  for (let i = 0; i < 32; i++) b.append(f, 0, f.length, f.length, 0, 0);
  let sent = 0;
  const timer = setInterval(() => { sent += tx.transmit(b); }, 2);
  return { stop: async () => { clearInterval(timer); await tx.close(); return sent; } };
}

/** Log records with this event, from every log file of hypervisor `hv`'s daemons so far. */
function events(lab: OverlayLab, hv: 1 | 2, event: string): Record<string, unknown>[] {
  const d = lab.daemons.find((x) => x.hv === hv)!;
  return readFileSync(d.logFile, 'utf8').split('\n').flatMap((l) => { try { const r = JSON.parse(l); return r.event === event ? [r] : []; } catch { return []; } });
}

async function killMidTraffic(t: Tap, lab: OverlayLab): Promise<void> {
  const before = port(await stats(lab.daemons[0].socket), 'ul0').txPackets;
  const load = traffic(lab);
  await sleep(400);
  const during = port(await stats(lab.daemons[0].socket), 'ul0').txPackets;
  t.ok(during - before > 1000, `traffic crossing hv1 when it is killed (${during - before} frames in 0.4 s)`);
  const d = lab.daemons[0];
  d.child.kill('SIGKILL');
  await d.exit;
  await load.stop();
}
type Tap = Parameters<Parameters<typeof t.test>[1]>[0];

t.test('kill -9 mid-traffic, restart, leftovers, foreign programs', { skip, timeout: 180_000 }, async (t) => {
  const lab = new OverlayLab(`vtk${process.pid}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  const [hv1] = lab.topo.hvNs;
  const o = { type: 'vxlan', backend: 'afxdp', transport: 'afxdp' } as const;
  await lab.startDaemons(o);
  t.equal((await lab.ping('vm11', 'vm21', 2)).received, 2, 'forwarding over AF_XDP');
  const ours = ['ul0:vtepd_xsk', 'vm11:vtepd_xsk', 'vm12:vtepd_xsk'];
  t.same(xdpPrograms(hv1).sort(), ours);

  await killMidTraffic(t, lab);
  t.same(xdpPrograms(hv1), [], 'bpf_link attach: the kernel removed every XDP program with the killed process');
  await lab.restartDaemon(1, { ...process.env, VTEPD_XDP_ATTACH: 'netlink' });
  t.equal((await lab.ping('vm11', 'vm21', 2)).received, 2, 'restarted (programs attached through netlink this time)');

  await killMidTraffic(t, lab);
  const left = xdpPrograms(hv1).sort();
  t.same(left, ours, 'netlink attach: the killed daemon left its programs behind');
  const leftIds = JSON.parse(execFileSync('ip', ['-n', hv1, '-j', 'link', 'show'], { encoding: 'utf8' }))
    .filter((l: { xdp?: unknown }) => l.xdp).map((l: { xdp: { prog: { id: number } } }) => l.xdp.prog.id) as number[];
  await lab.restartDaemon(1);
  // The daemon's stdout reaches its log file through a pipe and a write stream: on a loaded host the line may lag
  // the control socket's first answer by a moment.
  for (let k = 0; k < 30 && events(lab, 1, 'xdp-leftover-replaced').length < 3; k++) await sleep(100);
  const replaced = events(lab, 1, 'xdp-leftover-replaced');
  t.same(replaced.map((r) => r.port).sort(), ['ul0', 'vm11', 'vm12'], 'the restart found and replaced each leftover, and logged it');
  t.match(replaced[0], { level: 'warn', replaced: /^vtepd_xsk id \d+ \(native\)$/ });
  t.same(replaced.map((r) => Number(/id (\d+)/.exec(String(r.replaced))![1])).sort(), [...leftIds].sort(), 'naming the leftover programs by id');
  t.equal((await lab.ping('vm11', 'vm21', 3)).received, 3, 'forwarding again');

  // Someone else's program on a port's interface: the start is refused, naming the command that removes it.
  const foreign = foreignXdpObject();
  const stopped = await lab.stopDaemons();
  t.same(stopped.map((s) => s.code), [0, 0], 'SIGTERM: both exit 0');
  for (const ns of lab.topo.hvNs) t.same(xdpPrograms(ns), [], `and leave no XDP program in ${ns}`);
  if (foreign === null) {
    t.comment('skipped the foreign-program case: libxdp program objects not installed');
    return;
  }
  execFileSync('ip', ['-n', hv1, 'link', 'set', 'dev', 'vm12', 'xdpgeneric', 'obj', foreign, 'sec', 'xdp']);
  const err = await lab.restartDaemon(1).then(() => '', (e: Error) => e.message);
  t.match(err, /vtepd on hv1 exited \(\d+\)/, 'the daemon does not start');
  t.match(err, /interface 'vm12' already has XDP program 'xsk_def_prog'.*not vtepd's: vtepd will not replace it; remove it with `ip link set dev vm12 xdpgeneric off`/);
  t.same(xdpPrograms(hv1), ['vm12:xsk_def_prog'], 'nothing of vtepd stays attached; the foreign program is untouched');
  execFileSync('ip', ['-n', hv1, 'link', 'set', 'dev', 'vm12', 'xdpgeneric', 'off']);
  await lab.restartDaemon(1);
  t.same(xdpPrograms(hv1).sort(), ours, 'starts once it is removed');
});

/**
 * vtepd ↔ vtepd in network namespaces: two daemons (real child processes of
 * `vtepd run`), VMs on veth. Per tunnel type: ICMP echo and a TCP stream
 * (sha256 on both ends) VM to VM, learning and flooding seen through
 * `vtepd fdb show --json`, exact counters for frames injected with an AF_PACKET
 * socket in a VM and counted by another AF_PACKET socket in the far VM, a
 * SIGHUP reload during a ping run, SIGTERM with final counters logged.
 * IPv4 underlay for all three types, then IPv6 underlay; each with the
 * TypeScript stages (offload plan host) and with their C twins (plan native:
 * encap/decap and forwarding/learning in the addon). The underlay's host-stack
 * bypass (tcx) is on throughout and counts the tunnel frames it kept from the stack.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { bypassObjectPath } from '../../src/native/stack-bypass-native.js';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { daemonTestSkip, closeOnExit, MAIN } from './support.js';
import { exercise, NATIVE, port, stats, TYPES } from './live-exercise.js';

const skip = daemonTestSkip();
const BPF_BUILT = existsSync(bypassObjectPath());

for (const plan of ['host', 'native'] as const) for (const v6 of [false, true]) {
  t.test(`vtepd <-> vtepd, IPv${v6 ? 6 : 4} underlay, plan ${plan}`, { skip, timeout: 240_000 }, async (t) => {
    const lab = new OverlayLab(`vtt${process.pid}${plan[0]}${v6 ? 'b' : 'a'}`, { v6 });
    t.teardown(() => lab.close());
    closeOnExit(lab); // even if the runner kills the test mid-way
    const ul = lab.topo.underlay;
    for (const [k, type] of TYPES.entries()) {
      const offload = plan === 'native' ? NATIVE : undefined;
      if (k === 0) await lab.startDaemons({ type, metricsListen: '127.0.0.1:9580', offload });
      else await lab.reconfigure({ type, metricsListen: '127.0.0.1:9580', offload });
      const bypassBefore = (await stats(lab.daemons[1].socket)).hostStackBypass;
      await t.test(type, (t) => exercise(t, lab, type, ul, k === 0 && !v6 && plan === 'host', plan));
      // The AF_PACKET underlay's tcx program kept the tunnel frames hv2 decapsulated from its host stack.
      const bypass = (await stats(lab.daemons[1].socket)).hostStackBypass;
      if (!BPF_BUILT) {
        t.match(bypass, { state: 'off', reason: /npm run build:native/ }, `${type}: eBPF objects not built: the bypass is off and says why`);
      } else {
        t.equal(bypass?.state, 'on', `${type}: host-stack bypass attached on ul0${bypass?.reason ? ` (off: ${bypass.reason})` : ''}`);
        t.ok((bypass?.dropped ?? 0) > (bypassBefore?.dropped ?? 0), `${type}: tunnel frames kept from hv2's stack (${bypassBefore?.dropped} -> ${bypass?.dropped})`);
      }
    }
    if (BPF_BUILT) {
      const text = execFileSync(process.execPath, [MAIN, 'stats', '--socket', lab.daemons[1].socket], { encoding: 'utf8' });
      t.match(text, /^host-stack bypass on ul0: on, [1-9]\d* tunnel frames kept from the host stack, \d+ passed to it$/m, 'vtepd stats says what the bypass kept from the stack');
    }

    // SIGHUP with the same config while a ping runs: no loss, ports kept, counters keep counting.
    const beforeHup = await stats(lab.daemons[0].socket);
    const pinging = lab.ping('vm11', 'vm21', 8, 1000);
    await sleep(1500);
    const hv1 = lab.daemons[0];
    hv1.child.kill('SIGHUP');
    lab.daemons[1].child.kill('SIGHUP');
    const p = await pinging;
    t.equal(p.received, 8, 'no echo lost across a SIGHUP reload');
    const afterHup = await stats(lab.daemons[0].socket);
    t.ok(afterHup.networks[0].unicast >= beforeHup.networks[0].unicast + 16,
      `network counters survive the reload (${beforeHup.networks[0].unicast} -> ${afterHup.networks[0].unicast})`);
    t.equal(afterHup.networks[0].learned, beforeHup.networks[0].learned, 'carried MACs are not counted as learned twice');
    await sleep(200);
    const reloadLine = lab.logTail(hv1, 4000).split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((r) => r.event === 'reloaded');
    t.ok(reloadLine, 'reload logged');
    t.same(reloadLine?.keptPorts?.sort(), ['vm11', 'vm12'], 'unchanged ports were kept open');

    // A bad config on SIGHUP is refused and the daemon keeps forwarding.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(hv1.configFile, '{"underlay": {"interface": "ul0"}}');
    hv1.child.kill('SIGHUP');
    for (let k = 0; k < 50 && !/reload failed: keeping the running config/.test(lab.logTail(hv1, 2000)); k++) await sleep(100);
    t.match(lab.logTail(hv1, 2000), /reload failed: keeping the running config/);
    t.equal((await lab.ping('vm11', 'vm21', 2)).received, 2, 'still forwarding after a bad reload');

    // SIGTERM: clean exit, final counters logged and equal to the last stats.
    const last = await stats(hv1.socket);
    const stopped = await lab.stopDaemons();
    t.same(stopped.map((s) => s.code), [0, 0], 'both daemons exit 0 on SIGTERM');
    const fin = stopped[0].final?.counters;
    t.ok(fin, 'final counters logged');
    // The VMs' kernels may still send a delayed neighbour probe (ARP NUD) after the last
    // ping: allow those few frames, but the final counters must carry on from the last stats.
    const extraRx = port(fin!, 'vm11').rxPackets - port(last, 'vm11').rxPackets;
    t.ok(extraRx >= 0 && extraRx <= 2, `final vm11 rx = last stats + at most 2 neighbour probes (+${extraRx})`);
    const extraTx = port(fin!, 'ul0').txPackets - port(last, 'ul0').txPackets;
    t.ok(extraTx >= 0 && extraTx <= 4, `final underlay tx = last stats + at most the VMs' probes (+${extraTx})`);
  });
}

t.test('kernel UDP (VXLAN, GENEVE) and raw IP (NVGRE) underlay transports, switched by reload', { skip, timeout: 180_000 }, async (t) => {
  const lab = new OverlayLab(`vtt${process.pid}c`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  // From AF_PACKET and back: the host-stack bypass goes off with the kernel transports (they need the stack) and on again.
  // (Each step changes the type: reconfigure() knows a reload is done when the network type changed.)
  const cases = [['geneve', 'afpacket', 'afpacket'], ['vxlan', 'udp', 'udp'], ['geneve', 'udp', 'udp'], ['nvgre', 'raw', 'raw-ip'], ['vxlan', 'afpacket', 'afpacket']] as const;
  let dropped = 0;
  for (const [k, [type, transport, backend]] of cases.entries()) {
    if (k === 0) await lab.startDaemons({ type, transport });
    else await lab.reconfigure({ type, transport });
    t.equal((await lab.ping('vm11', 'vm21', 3)).received, 3, `${type} over ${transport}: ping 3/3`);
    const b = await lab.bulk('vm12', 'vm22', 1 << 20);
    t.equal(b.got.sha, b.sent.sha, `${type} over ${transport}: 1 MiB TCP intact`);
    const s = await stats(lab.daemons[0].socket);
    t.equal(s.ports.find((p) => p.role === 'underlay')?.backend, backend, `underlay is the ${backend} backend`);
    const bypass = s.hostStackBypass;
    if (transport !== 'afpacket') {
      t.match(bypass, { state: 'off', reason: new RegExp(`underlay\\.transport ${transport}`) }, `${transport}: host-stack bypass off, and why`);
    } else if (BPF_BUILT) {
      t.equal(bypass?.state, 'on', `${type} over afpacket: host-stack bypass on`);
      t.ok((bypass?.dropped ?? 0) > dropped, `${type} over afpacket: it counted tunnel frames, carried across the reloads (${dropped} -> ${bypass?.dropped})`);
    }
    dropped = bypass?.dropped ?? 0;
  }
  t.same((await lab.stopDaemons()).map((s) => s.code), [0, 0]);
});

/**
 * FDB ageing seen from outside: two `vtepd run` daemons with a 3 s ageing time,
 * a ping learns both VMs' MACs on both hypervisors (`vtepd fdb show --json`
 * through the CLI), then, with the VMs quiet, the daemon's idle ager removes
 * them and counts them as aged; new traffic learns them again.
 */
import type { FdbEntryJson } from '../../src/control/fdb-entry.js';
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { OverlayLab, sleep } from '../../src/lab/harness.js';
import { callDaemon } from '../../src/control/control-client.js';
import type { StatsSnapshot } from '../../src/control/stats.js';
import { daemonTestSkip, fdbShowCli as fdbShow, closeOnExit } from './support.js';

const skip = daemonTestSkip();

t.test('learned MACs age out of a quiet daemon after the configured time', { skip, timeout: 120_000 }, async (t) => {
  const lab = new OverlayLab(`vag${process.pid}`);
  t.teardown(() => lab.close());
  closeOnExit(lab);
  await lab.startDaemons({ type: 'vxlan', ageing: 3 });
  const hv1 = lab.daemons[0].socket;
  const vm11 = lab.vm('vm11');
  const vm21 = lab.vm('vm21');
  // Permanent neighbour entries keep the VMs' kernels quiet (no ARP probes that would
  // refresh the FDB while we wait for ageing).
  for (const [a, b] of [[vm11, vm21], [vm21, vm11]]) {
    execFileSync('ip', ['netns', 'exec', a.ns, 'ip', 'neigh', 'replace', b.ip4, 'lladdr', b.mac, 'dev', 'eth0', 'nud', 'permanent']);
  }

  t.equal((await lab.ping('vm11', 'vm21', 2)).received, 2, 'ping across the overlay');
  // Right after the ping through the control API (a CLI start can take seconds on a loaded
  // host, longer than the ageing time); the CLI reads the table below, once nothing refreshes it.
  const learned = (await callDaemon(hv1, 'fdb.show')) as FdbEntryJson[];
  const remoteEntry = learned.find((e) => e.mac === vm21.mac);
  t.ok(remoteEntry, 'vm21 learned on hv1');
  t.equal(remoteEntry?.remote, lab.topo.underlay[1], 'behind the other hypervisor');
  t.equal(learned.find((e) => e.mac === vm11.mac)?.port, 'vm11', 'vm11 learned on its port');
  const ours = learned.filter((e) => e.mac === vm11.mac || e.mac === vm21.mac);
  t.ok(ours.every((e) => e.ageSeconds >= 0 && e.ageSeconds < 3), `ages within the 3 s ageing time (${ours.map((e) => e.ageSeconds).join(', ')})`);

  // Ageing 3 s; the daemon ages idle tables on a timer. Poll up to 8 s.
  let left = learned;
  for (let k = 0; k < 40 && left.some((e) => e.mac === vm21.mac || e.mac === vm11.mac); k++) {
    await sleep(200);
    left = (await callDaemon(hv1, 'fdb.show')) as FdbEntryJson[];
  }
  const after = fdbShow(hv1);
  t.notOk(after.some((e) => e.mac === vm21.mac), 'vm21 aged out');
  t.notOk(after.some((e) => e.mac === vm11.mac), 'vm11 aged out');
  const s = (await callDaemon(hv1, 'stats')) as StatsSnapshot;
  t.ok(s.networks[0].aged >= 2, `aged counter counts them (${s.networks[0].aged})`);

  t.equal((await lab.ping('vm11', 'vm21', 1)).received, 1, 'traffic again after ageing (flooded, then learned)');
  t.ok(fdbShow(hv1).some((e) => e.mac === vm21.mac), 'vm21 learned again');
  t.same((await lab.stopDaemons()).map((x) => x.code), [0, 0], 'daemons exit 0');
});

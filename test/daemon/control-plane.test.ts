/**
 * The control-plane hook (what BGP EVPN plugs into), on a real userspace
 * daemon in this process: a pcap port replays frames from two stations, the
 * bridge learns them, and the attached plane hears `learned` events with the
 * port; it installs a static remote entry, applies a config with one more
 * remote (as a type-3 route would), hears `removed` events when the CLI
 * flushes, and is stopped before the data path. The underlay is a kernel UDP
 * socket on loopback (no root needed); everything else is vtepd's own code.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../src/config/config-load.js';
import type { VtepdConfig } from '../../src/config/config-schema.js';
import { callDaemon } from '../../src/control/control-client.js';
import type { FdbEntryJson } from '../../src/control/fdb-entry.js';
import type { MacEvent } from '../../src/daemon/backend.js';
import { createDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/daemon/logger.js';
import type { ControlPlaneApi } from '../../src/daemon/lifecycle.js';
import { sleep } from '../../src/lab/harness.js';
import { scapyPcap } from '../l2/helpers.js';

const A = '02:00:00:00:0a:01';
const B = '02:00:00:00:0b:01';

t.test('a control plane attached to the daemon: MAC events, FDB calls, apply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-cp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = scapyPcap(dir, 'in', `plain('${A}', '${B}', 1.0)\nplain('${B}', '${A}', 1.1)\nplain('${A}', 'ff:ff:ff:ff:ff:ff', 1.2)`);
  const udpPort = 40000 + (process.pid % 20000);
  const doc = {
    underlay: { interface: 'lo', address: '127.0.0.1', transport: 'udp' },
    ports: [{ name: 'in', backend: 'pcap', readFile: pcap }, { name: 'out', backend: 'pcap', writeFile: join(dir, 'out.pcap') }],
    networks: [{ vni: 100, type: 'vxlan', udpPort, ports: ['in', 'out'], remotes: ['127.0.0.2'] }],
    control: { socket: join(dir, 'vtepd.sock') },
    metrics: { enabled: false },
    log: { level: 'silent' },
  };
  const cfg = validateConfig(doc, 'test');
  const d = createDaemon({ configFile: join(dir, 'none.yaml'), cfg, logger: createLogger('silent') });
  const events: MacEvent[] = [];
  let api!: ControlPlaneApi;
  const calls: string[] = [];
  d.attach({
    name: 'test-plane',
    async start(a) {
      api = a;
      calls.push('start');
      a.onMacEvents((evs) => events.push(...evs));
    },
    reloaded(c: VtepdConfig) { calls.push(`reloaded ${c.networks[0].remotes.join(',')}`); },
    async stop() { calls.push('stop'); },
  });
  await d.start();
  for (let k = 0; k < 50 && events.length < 2; k++) await sleep(100);
  t.match(events.filter((e) => e.kind === 'learned').sort((x, y) => x.mac.localeCompare(y.mac)), [
    { kind: 'learned', vni: 100, mac: A, port: 'in', remote: null },
    { kind: 'learned', vni: 100, mac: B, port: 'in', remote: null },
  ], 'the plane hears what the bridge learned, with the port');

  // A remote MAC from a route: installed through the queue, visible to fdb show.
  await api.fdbAdd({ vni: 100, mac: '02:00:00:00:0c:01', remote: '127.0.0.2' });
  const shown = await api.fdbShow(100);
  t.match(shown.find((e: FdbEntryJson) => e.mac === '02:00:00:00:0c:01'), { remote: '127.0.0.2', static: true });
  await t.rejects(api.fdbAdd({ vni: 100, mac: '02:00:00:00:0c:02', remote: '127.0.0.3' }), /127\.0\.0\.3 is not a remote VTEP of VNI 100/);

  // A new remote (a type-3 route): a derived config, applied like a reload; static entries stay.
  const next = structuredClone(api.config());
  next.networks[0].remotes.push('127.0.0.3');
  t.same(await api.apply(next), { reloaded: true });
  t.same(calls, ['start', 'reloaded 127.0.0.2,127.0.0.3'], 'the plane is told about the reload');
  await api.fdbAdd({ vni: 100, mac: '02:00:00:00:0c:02', remote: '127.0.0.3' });
  t.equal((await api.fdbShow()).filter((e) => e.static).length, 2, 'both static remote entries there');

  // The CLI flushes: the plane hears the learned entries go.
  events.length = 0;
  t.same(await callDaemon(cfg.control.socket, 'fdb.flush', { vni: 100 }), { removed: 2 });
  for (let k = 0; k < 20 && events.length < 2; k++) await sleep(100);
  t.same(events.map((e) => `${e.kind} ${e.mac}`).sort(), [`removed ${A}`, `removed ${B}`]);

  await d.stop('test');
  t.equal(await d.done, 0);
  t.same(calls.at(-1), 'stop', 'stopped with the daemon');
  await t.rejects(api.fdbShow(), /vtepd is stopping/, 'no FDB call after the stop');
});

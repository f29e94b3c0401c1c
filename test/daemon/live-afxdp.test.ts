/**
 * The live tests of live.test.ts with AF_XDP everywhere: `backend: afxdp` VM
 * ports and `underlay.transport: afxdp` on both daemons (copy mode on veth).
 * All three tunnel types over IPv4 and IPv6 underlays, with the TypeScript
 * stages and with their C twins (reloads switch the type: the underlay keeps
 * its socket and retargets its filter); a clean stop leaves no XDP program on
 * any interface.
 */
import t from 'tap';
import { OverlayLab } from '../../src/lab/harness.js';
import { daemonTestSkip, closeOnExit } from './support.js';
import { exercise, NATIVE, port, stats, TYPES } from './live-exercise.js';
import { xdpPrograms } from '../ports/fixtures/xdp.js';

const skip = daemonTestSkip();

for (const plan of ['host', 'native'] as const) for (const v6 of [false, true]) {
  t.test(`AF_XDP: vtepd <-> vtepd, IPv${v6 ? 6 : 4} underlay, plan ${plan}`, { skip, timeout: 240_000 }, async (t) => {
    const lab = new OverlayLab(`vtx${process.pid}${plan[0]}${v6 ? 'b' : 'a'}`, { v6 });
    t.teardown(() => lab.close());
    closeOnExit(lab);
    const ul = lab.topo.underlay;
    for (const [k, type] of TYPES.entries()) {
      const o = { type, metricsListen: '127.0.0.1:9580', offload: plan === 'native' ? NATIVE : undefined, backend: 'afxdp', transport: 'afxdp' } as const;
      if (k === 0) await lab.startDaemons(o);
      else await lab.reconfigure(o);
      await t.test(type, (t) => exercise(t, lab, type, ul, k === 0 && !v6 && plan === 'host', plan, 'afxdp'));
    }
    const s = await stats(lab.daemons[0].socket);
    t.equal(port(s, 'ul0').backend, 'afxdp', 'underlay on AF_XDP');
    t.same(xdpPrograms(lab.topo.hvNs[0]).sort(), ['ul0:vtepd_xsk', 'vm11:vtepd_xsk', 'vm12:vtepd_xsk'], 'vtepd_xsk on the underlay and both VM ports');
    const stopped = await lab.stopDaemons();
    t.same(stopped.map((x) => x.code), [0, 0], 'both daemons exit 0 on SIGTERM');
    for (const ns of lab.topo.hvNs) t.same(xdpPrograms(ns), [], `no XDP program left in ${ns} after a clean stop`);
  });
}

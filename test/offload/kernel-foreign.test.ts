/**
 * Kernel mode next to FRR (control-plane: evpn, speaker: frr): entries another
 * control plane put in the FDB are never vtepd's to delete. With keepForeign,
 * sync() deletes only what it added itself (FRR's head-end entries look like
 * vtepd's own); `extern_learn` entries (zebra's remote MACs) are never read as
 * vtepd's, and deleting "learned" entries skips them. Oracle: the kernel's
 * own FDB (bridge -j fdb show).
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';

const NS = `vtkf-${process.pid}`;
const br = (...a: string[]): void => { execFileSync('bridge', ['-n', NS, ...a]); };
const rows = (dev: string): { mac: string; dst?: string; flags?: string[]; state?: string }[] =>
  JSON.parse(execFileSync('bridge', ['-n', NS, '-j', 'fdb', 'show', 'dev', dev], { encoding: 'utf8' }) || '[]');
const has = (dev: string, mac: string, dst?: string): boolean => rows(dev).some((r) => r.mac === mac && (dst === undefined || r.dst === dst));

t.before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']);
  execFileSync('ip', ['-n', NS, 'link', 'add', 'q0', 'type', 'veth', 'peer', 'name', 'q1']);
});
t.teardown(() => void spawnSync('ip', ['netns', 'del', NS]));

for (const keepForeign of [true, false]) {
  t.test(`sync with keepForeign ${keepForeign}`, async (t) => {
    const port = keepForeign ? 'p0' : 'q0';
    const vni = keepForeign ? 100 : 200;
    const v = new KernelVtep({ netns: NS, vni, local: '10.9.0.1', dstPort: 4789, ports: [port], learning: !keepForeign, keepForeign });
    t.teardown(() => v.destroy().catch(() => undefined));
    await v.create();
    const vx = v.vxlan;
    await v.sync({ floodRemotes: ['10.9.0.2'], entries: [{ mac: '02:00:00:00:00:05', dst: '10.9.0.2' }] });
    // What FRR's zebra installs: a head-end replication entry (looks exactly like vtepd's) and a remote MAC with extern_learn.
    br('fdb', 'append', '00:00:00:00:00:00', 'dev', vx, 'dst', '10.9.0.7', 'self', 'permanent');
    br('fdb', 'add', '02:00:00:00:00:77', 'dev', vx, 'master', 'extern_learn');
    t.ok(rows(vx).some((r) => r.mac === '02:00:00:00:00:77' && (r.flags ?? []).includes('extern_learn')), 'the extern_learn entry is in the kernel');
    const have = await v.readFdb();
    t.notOk([...have.remote, ...have.local].some((e) => e.mac === '02:00:00:00:00:77'), 'an extern_learn entry is never read as vtepd\'s');

    // vtepd's desired set changes: its own old entries go either way.
    const d = await v.sync({ floodRemotes: ['10.9.0.3'], entries: [] });
    t.notOk(has(vx, '00:00:00:00:00:00', '10.9.0.2'), 'vtepd\'s own flood entry removed');
    t.notOk(has(vx, '02:00:00:00:00:05'), 'vtepd\'s own MAC entry removed');
    t.ok(has(vx, '00:00:00:00:00:00', '10.9.0.3'), 'the new flood entry added');
    t.ok(has(vx, '02:00:00:00:00:77'), 'the extern_learn entry survives the sync');
    if (keepForeign) {
      t.ok(has(vx, '00:00:00:00:00:00', '10.9.0.7'), 'keepForeign: the foreign head-end entry survives the sync');
      t.notOk(d.del.some((e) => e.dst === '10.9.0.7'), '... and was not in the applied diff');
    } else {
      t.notOk(has(vx, '00:00:00:00:00:00', '10.9.0.7'), 'without keepForeign the drift repair removes it (static mode: every such entry is vtepd\'s)');
    }
    t.equal(await v.deleteLearned('02:00:00:00:00:77', { remote: true, ports: true }), 0, 'deleting learned entries skips extern_learn');
    t.ok(has(vx, '02:00:00:00:00:77'), 'still there');
  });
}

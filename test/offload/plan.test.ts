import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { parsePlan, parsePlanShape, PlanError } from '../../src/offload/plan.js';
import { HOST_PLAN, type OffloadPlan } from '../../src/offload/plan-schema.js';
import { probeHost, probeKernelLinks, type HostCapabilities } from '../../src/offload/host-probe.js';
import { availabilityMatrix } from '../../src/offload/availability.js';
import { probeNic } from '../../src/offload/ethtool.js';

const yes = (reason = 'test host has it') => ({ ok: true, reason });

/** A host that can do everything in the kernel and the addon; NIC is a real-looking PCI device. */
function richHost(): HostCapabilities {
  const on = { on: true, fixed: false };
  return {
    kernelRelease: 'test',
    kernel: { vxlan: yes(), geneve: yes(), gretap: yes(), bridge: yes(), vnetHdr: yes(), tcFlower: yes() },
    native: { loaded: true, path: '/x', exports: ['checksumBatch', 'segmentBatch', 'vxlanEncapBatch', 'vxlanDecapBatch', 'fdbLearnLookupBatch'], reason: 'loaded' },
    nic: { iface: 'ens1', driver: 'mlx5_core', hasDevice: true, featuresError: null, features: { 'tx-checksum-ip-generic': on, 'tx-udp_tnl-segmentation': on, 'hw-tc-offload': on } },
  };
}

function refusal(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlanError) return e.problems;
    throw e;
  }
  return [];
}

t.test('shape: defaults to host, rejects unknown functions and placements with clear messages', async (t) => {
  t.same(parsePlan({}, { caps: richHost(), tunnels: ['vxlan'] }), HOST_PLAN);
  t.same(parsePlan(undefined, { caps: richHost(), tunnels: [] }), HOST_PLAN);
  const p = parsePlanShape({ checksum: 'gpu', encap: 'kernel' }).problems;
  t.match(p.join('\n'), /offload\.checksum: "gpu" is not a placement \(one of host, native, kernel, xdp, nic\)/);
  t.match(p.join('\n'), /unknown function "encap" \(known: checksum, segmentation, encap-decap, forwarding-learning\)/);
  t.match(parsePlanShape([]).problems[0], /must be an object/);
});

t.test('combinations that cannot work are refused on any host', async (t) => {
  const ctx = { caps: richHost(), tunnels: ['vxlan'] as const };
  const full: OffloadPlan = { checksum: 'kernel', segmentation: 'kernel', 'encap-decap': 'kernel', 'forwarding-learning': 'kernel' };
  t.same(parsePlan(full, ctx), full, 'all-kernel is fine');
  t.same(parsePlan({ 'encap-decap': 'native', 'forwarding-learning': 'host', checksum: 'native' }, ctx)['encap-decap'], 'native', 'host and native mix');

  const a = refusal(() => parsePlan({ ...full, 'encap-decap': 'host', checksum: 'host', segmentation: 'host' }, ctx));
  t.equal(a.length, 1);
  t.match(a[0], /encap-decap: host with forwarding-learning: kernel cannot work together: frames the kernel forwards never come back to vtepd's host encap stage/);
  const b = refusal(() => parsePlan({ ...full, 'forwarding-learning': 'native' }, ctx));
  t.match(b[0], /kernel tunnel device chooses the remote VTEP from its own FDB/);
  const c = refusal(() => parsePlan({ ...full, checksum: 'host' }, ctx));
  t.match(c.join('\n'), /encap-decap: kernel builds the outer headers .* checksum \(host\)/);
  t.match(c.join('\n'), /segmentation: kernel needs checksum: kernel or nic, not host/);
  const d = refusal(() => parsePlan({ segmentation: 'nic', checksum: 'kernel' }, ctx));
  t.match(d.join('\n'), /segmentation: nic needs checksum: nic \(not kernel\)/);
});

t.test('availability refusals: native addon lacking a function, NIC without the feature', async (t) => {
  const caps = richHost();
  const g = refusal(() => parsePlan({ 'encap-decap': 'native' }, { caps, tunnels: ['vxlan', 'geneve'] }));
  t.equal(g.length, 1, 'vxlan native is fine, geneve is not');
  t.match(g[0], /encap-decap: native for geneve is not available on this host: the native addon has no geneve encap\/decap \(missing exports geneveEncapBatch, geneveDecapBatch\)/);
  caps.native = { loaded: false, path: null, exports: [], reason: 'native addon not built (dir missing)' };
  t.match(refusal(() => parsePlan({ checksum: 'native' }, { caps, tunnels: [] }))[0], /checksum: native is not available on this host: native addon not built/);
  caps.nic!.features!['tx-udp_tnl-segmentation'] = { on: false, fixed: true };
  const s = refusal(() => parsePlan({ segmentation: 'nic', checksum: 'nic' }, { caps, tunnels: ['vxlan'] }));
  t.match(s[0], /segmentation: nic for vxlan is not available on this host: ens1 \(mlx5_core\) does not offer vxlan segmentation offload: tx-udp_tnl-segmentation off \[fixed\], tx-udp_tnl-csum-segmentation not reported/);
  caps.nic!.features!['tx-udp_tnl-segmentation'] = { on: false, fixed: false };
  t.match(refusal(() => parsePlan({ segmentation: 'nic', checksum: 'nic' }, { caps, tunnels: ['vxlan'] }))[0], /enable with: ethtool -K ens1 tx-udp_tnl-segmentation on/);
});

/** Independent oracle: can this kernel create a device of `type`? */
function kernelCan(type: string, args: string[]): boolean {
  const ns = `vtplan-${process.pid}-${type}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'x0', 'type', type, ...args]).status === 0;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

t.test('this host: kernel geneve/nvgre refused exactly when the kernel lacks geneve/gretap', async (t) => {
  const caps = await probeHost({ iface: 'lo' });
  const hasGeneve = kernelCan('geneve', ['id', '1', 'remote', '192.0.2.2']);
  const hasGretap = kernelCan('gretap', ['local', '192.0.2.1', 'remote', '192.0.2.2']);
  const hasVxlan = kernelCan('vxlan', ['id', '1', 'dstport', '4789']);
  t.equal(caps.kernel.geneve.ok, hasGeneve);
  t.equal(caps.kernel.gretap.ok, hasGretap);
  t.equal(caps.kernel.vxlan.ok, hasVxlan);
  const plan = { checksum: 'kernel', segmentation: 'kernel', 'encap-decap': 'kernel', 'forwarding-learning': 'kernel' };
  const p = refusal(() => parsePlan(plan, { caps, tunnels: ['vxlan', 'geneve', 'nvgre'] }));
  t.equal(p.some((x) => /encap-decap: kernel for geneve is not available on this host: the kernel has no geneve devices/.test(x)), !hasGeneve);
  t.equal(p.some((x) => /encap-decap: kernel for nvgre is not available on this host: the kernel has no gretap devices/.test(x)), !hasGretap);
  t.notOk(p.some((x) => /for vxlan/.test(x)) && hasVxlan, 'vxlan in the kernel is accepted where the kernel has it');
  if (!hasGeneve) t.match(caps.kernel.geneve.reason, /Unknown device type|CONFIG_GENEVE/, 'refusal carries the kernel\'s own answer');
  // The throwaway probe namespaces are gone.
  t.notMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), /vtepd-probe-/);
});

t.test('this host: NIC placement follows ethtool, software devices never count as a NIC', async (t) => {
  const ns = `vtplan-${process.pid}-veth`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
  const nic = await probeNic('va', ns);
  t.equal(nic.driver, 'veth');
  t.equal(nic.hasDevice, false);
  const caps = await probeHost({ iface: 'lo' });
  caps.nic = nic;
  const p = refusal(() => parsePlan({ segmentation: 'nic', checksum: 'nic' }, { caps, tunnels: ['vxlan'] }));
  t.match(p[0], /va is a software device \(driver veth\): its offload flags are kernel software, not NIC hardware/);

  const dev = execFileSync('ip', ['-j', 'route', 'show', 'default'], { encoding: 'utf8' });
  const iface = (JSON.parse(dev) as { dev: string }[])[0]?.dev;
  if (!iface) return t.skip('no default route interface to probe');
  const ethtool = spawnSync('ethtool', ['-k', iface], { encoding: 'utf8' });
  if (ethtool.status !== 0) return t.skip('ethtool not installed');
  const line = /^\s*tx-udp_tnl-segmentation: (on|off)( \[fixed\])?/m.exec(ethtool.stdout);
  const real = await probeHost({ iface });
  const row = availabilityMatrix(real).find((r) => r.function === 'segmentation' && r.tunnel === 'vxlan')!;
  const isDevice = spawnSync('test', ['-e', `/sys/class/net/${iface}/device`]).status === 0;
  t.equal(row.placements.nic.ok, isDevice && line?.[1] === 'on', `nic segmentation follows ethtool (${line?.[0].trim()})`);
  if (!row.placements.nic.ok && isDevice) t.match(row.placements.nic.reason, `tx-udp_tnl-segmentation ${line![1]}${line![2] ?? ''}`);
});

t.test('kernel link probe returns a verdict for every type', async (t) => {
  const links = await probeKernelLinks();
  t.same(Object.keys(links).sort(), ['bridge', 'geneve', 'gretap', 'vxlan']);
  for (const v of Object.values(links)) t.ok(v.reason.length > 10);
});

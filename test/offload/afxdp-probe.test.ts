/**
 * `vtepd offload probe` on AF_XDP: per interface whether vtepd can attach
 * (native/generic XDP, zero-copy, someone else's program) and why not, checked
 * against the kernel's own answers (ip link set ... xdpdrv succeeds or fails);
 * the host verdict comes from a real AF_XDP port on a throwaway veth.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { judgeInterface } from '../../src/offload/afxdp-probe.js';
import { xskObjectPath } from '../../src/native/af-xdp-native.js';
import { makeNetns, nsExec, sh } from '../ports/fixtures/netns.js';
import { foreignXdpObject } from '../ports/fixtures/xdp.js';

const main = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(main) ? 'run npm run build first' : false;

/** Does the kernel take a native (driver) XDP program on `ifname`? The independent answer. */
function kernelTakesNative(ns: string, ifname: string): boolean {
  const r = spawnSync('ip', ['-n', ns, 'link', 'set', 'dev', ifname, 'xdpdrv', 'obj', xskObjectPath(), 'sec', 'xdp']);
  if (r.status === 0) spawnSync('ip', ['-n', ns, 'link', 'set', 'dev', ifname, 'xdpdrv', 'off']);
  return r.status === 0;
}

t.test('per interface verdicts agree with the kernel', { skip }, async (t) => {
  const ns = makeNetns(t, 'x');
  sh('ip', ['-n', ns, 'link', 'add', 'pa', 'type', 'veth', 'peer', 'name', 'pb']);
  sh('ip', ['-n', ns, 'link', 'add', 'pc', 'type', 'veth', 'peer', 'name', 'pd']);
  for (const i of ['pa', 'pb', 'pc', 'pd']) sh('ip', ['-n', ns, 'link', 'set', i, 'up']);
  const foreign = foreignXdpObject();
  if (foreign) sh('ip', ['-n', ns, 'link', 'set', 'dev', 'pb', 'xdpgeneric', 'obj', foreign, 'sec', 'xdp']);
  sh('ip', ['-n', ns, 'link', 'set', 'dev', 'pc', 'xdpdrv', 'obj', xskObjectPath(), 'sec', 'xdp']); // a leftover of vtepd's

  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, main, 'offload', 'probe', '--json'], { encoding: 'utf8', timeout: 60000 });
  t.equal(r.status, 0, r.stderr);
  const x = JSON.parse(r.stdout).afxdp;
  t.match(x.sockets, { ok: true });
  t.match(x.program, { ok: true });
  t.match(x.trial, { ok: true, reason: /received a frame \(native XDP, copy mode, attached by link\)/ }, 'a real AF_XDP port on a throwaway veth');
  const at = (n: string) => x.interfaces.find((i: { interface: string }) => i.interface === n);
  t.same(x.interfaces.map((i: { interface: string }) => i.interface).sort(), ['lo', 'pa', 'pb', 'pc', 'pd']);
  t.match(at('pa'), { driver: 'veth', queues: 1, native: { ok: kernelTakesNative(ns, 'pa') }, generic: { ok: true }, zeroCopy: { ok: false, reason: /veth has no AF_XDP zero-copy/ }, attach: { ok: true } });
  t.equal(at('pa').native.ok, true, 'veth: native XDP (the kernel took a driver-mode program)');
  t.match(at('lo'), { native: { ok: kernelTakesNative(ns, 'lo') } });
  t.equal(at('lo').native.ok, false, 'loopback: no native XDP (the kernel refused a driver-mode program)');
  t.match(at('pc'), { attach: { ok: true, reason: /a leftover vtepd_xsk \(id \d+\) is attached: vtepd replaces it/ } });
  if (foreign) t.match(at('pb'), { attach: { ok: false, reason: /'xsk_def_prog' \(id \d+, generic\) is attached and is not vtepd's; remove it with `ip link set dev pb xdpgeneric off`/ } });
  t.match(nsExec(ns, 'ip', ['link', 'show', 'pc']), /prog\/xdp id \d+ name vtepd_xsk/, 'the probe attached and detached nothing: the leftover is still there');

  const one = spawnSync('ip', ['netns', 'exec', ns, process.execPath, main, 'offload', 'probe', '--iface', 'pa'], { encoding: 'utf8', timeout: 60000 });
  t.equal(one.status, 0, one.stderr);
  t.match(one.stdout, /^AF_XDP \(backend afxdp, underlay\.transport afxdp\): sockets yes, XDP program built, trial on a veth yes/m);
  t.match(one.stdout, /^interface\s+driver\s+queues\s+native\s+generic\s+zero-copy\s+attach$/m);
  t.match(one.stdout, /^pa\s+veth\s+1\s+yes\s+yes\s+no\s+yes$/m, '--iface: that interface only');
  t.notMatch(one.stdout, /^pb\s/m);
  t.match(one.stdout, /^ {2}pa zero-copy: driver veth has no AF_XDP zero-copy/m);
});

t.test('verdicts from the addon answers (any host)', async (t) => {
  const ok = { ok: true, reason: 'sockets' };
  const base = { interface: 'eth9', ifindex: 4, socketErrno: null, queues: 8, driver: 'mlx5_core', queryErrno: null, attached: null };
  let j = judgeInterface({ ...base, features: { known: true, native: true, zeroCopy: true, zcMaxSegs: 1, why: '' } }, ok);
  t.match(j, { native: { ok: true }, zeroCopy: { ok: true, reason: /mlx5_core offers AF_XDP zero-copy/ }, attach: { ok: true }, queues: 8 });
  j = judgeInterface({ ...base, features: { known: false, native: false, zeroCopy: false, zcMaxSegs: 0, why: 'Linux < 6.3' } }, ok);
  t.match(j.native.reason, /unknown: Linux < 6.3; vtepd tries native first, then generic/);
  j = judgeInterface({ ...base, attached: { id: 9, name: 'vtepd_xsk', mode: 'native', ours: true, viaLink: true, remove: '' } }, ok);
  t.match(j.attach, { ok: false, reason: /in use by a running vtepd/ });
  // The xdp plan's programs (kernel names cut at 15 characters) are vtepd's too, not someone else's.
  j = judgeInterface({ ...base, attached: { id: 12, name: 'vtepd_xdp_under', mode: 'native', ours: false, viaLink: true, remove: 'ip link set dev eth9 xdp off' } }, ok);
  t.match(j.attach, { ok: false, reason: /in use by a running vtepd in the xdp plan \(vtepd_xdp_under/ });
  j = judgeInterface({ ...base, ifindex: 0 }, ok);
  t.match(j.attach, { ok: false, reason: 'no such interface' });
  j = judgeInterface(base, { ok: false, reason: 'this kernel has no AF_XDP sockets' });
  t.match(j, { native: { ok: false, reason: /no AF_XDP sockets/ }, attach: { ok: false } });
});

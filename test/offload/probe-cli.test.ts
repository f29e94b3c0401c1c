import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bypassObjectPath } from '../../src/native/stack-bypass-native.js';

const main = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync('node', [main, ...args], { encoding: 'utf8', timeout: 60000 });

t.test('vtepd offload probe: table and JSON agree with the kernel', { skip: existsSync(main) ? false : 'run npm run build first' }, async (t) => {
  const j = cli('offload', 'probe', '--json', '--iface', 'lo');
  t.equal(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  t.equal(out.availability.length, 8, '2 per-function rows + 2 x 3 per-tunnel rows');
  const row = (fn: string, tunnel: string | null) => out.availability.find((r: { function: string; tunnel: string | null }) => r.function === fn && r.tunnel === tunnel);
  for (const r of out.availability) t.equal(r.placements.host.ok, true, `${r.function} always runs on host`);
  // Independent oracle: the kernel's own answer to creating a geneve device.
  const ns = `vtcli-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  const geneve = spawnSync('ip', ['-n', ns, 'link', 'add', 'g0', 'type', 'geneve', 'id', '1', 'remote', '192.0.2.2']).status === 0;
  spawnSync('ip', ['netns', 'del', ns]);
  t.equal(row('encap-decap', 'geneve').placements.kernel.ok, geneve);
  // lo is a software device: no NIC placement anywhere.
  for (const r of out.availability) t.equal(r.placements.nic.ok, false);
  t.match(row('checksum', null).placements.nic.reason, /lo is a software device/);

  const txt = cli('offload', 'probe', '--iface', 'lo');
  t.equal(txt.status, 0);
  t.match(txt.stdout, /^function\s+tunnel\s+host\s+native\s+kernel\s+xdp\s+nic$/m);
  // xdp: the verdict is the probe's real load of the programs (root, kernel BTF), the same for every tunnel type.
  const xdpOk = process.getuid?.() === 0 && existsSync('/sys/kernel/btf/vmlinux');
  t.match(txt.stdout, new RegExp(`^encap-decap\\s+geneve\\s+yes\\s+(yes|no)\\s+${geneve ? 'yes' : 'no'}\\s+${xdpOk ? 'yes' : 'no'}\\s+no$`, 'm'));
  for (const tunnel of ['vxlan', 'geneve', 'nvgre']) {
    const x = row('encap-decap', tunnel).placements.xdp;
    t.equal(x.ok, xdpOk, `xdp for ${tunnel}: ${x.reason}`);
  }
  t.equal(row('checksum', null).placements.xdp.ok, false, 'checksum is never an xdp placement');
  if (!geneve) t.match(txt.stdout, /encap-decap \(geneve\) on kernel: the kernel has no geneve devices/);

  // The host-stack bypass: a real tcx attach in a throwaway namespace. Oracle: the kernel has the tcx link code
  // (its symbol table), the caller is root, and the program object is built.
  const tcx = process.getuid?.() === 0 && /\btcx_link_attach\b/.test(readFileSync('/proc/kallsyms', 'utf8')) && existsSync(bypassObjectPath());
  t.equal(out.stackBypass.ok, tcx, `stackBypass: ${out.stackBypass.reason}`);
  t.match(txt.stdout, new RegExp(`^host-stack bypass \\(tcx, underlay\\.transport afpacket\\): ${tcx ? 'yes' : 'no'}: `, 'm'));
  t.notMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, /vtepd-probe-bypass/, 'the probe\'s namespace is gone');

  const bad = cli('offload', 'probe', '--iface', 'nope0');
  t.equal(bad.status, 2);
  t.equal(bad.stderr, 'vtepd: no interface "nope0" in this network namespace\n');
});

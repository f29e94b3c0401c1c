// npm's `install` step: builds the native addon (and the eBPF objects when clang,
// bpftool and kernel BTF are there) where the package was installed, so a
// registry install (npm install -g vtepd) gets working AF_PACKET, TAP and AF_XDP
// ports. node-gyp is the one npm carries (npm_config_node_gyp), so no dev
// dependency is needed. In a git checkout the generated contract header does not
// exist yet: `prepare` (npm run build) builds everything right after.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'native-bindings', 'src', 'generated', 'contract.h'))) {
  console.log('vtepd install: a source checkout (no generated contract header yet); `npm run build` builds the addon');
  process.exit(0);
}
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...args, 'rebuild', '--directory', 'native-bindings'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('vtepd install: building the native addon failed. It needs a C++ toolchain, python3, libpcap-dev, libbpf-dev and libxdp-dev ' +
    '(Debian/Ubuntu: sudo apt-get install build-essential python3 libpcap-dev libbpf-dev libxdp-dev). Without it only the offline commands ' +
    '(dissect, encap, decap, learn) work.');
  process.exit(r.status ?? 1);
}
spawnSync('bash', [join(root, 'scripts', 'build-bpf.sh')], { cwd: root, stdio: 'inherit' });

/**
 * The package as a user installs it from the registry: `npm pack` of this
 * checkout, `npm install -g --prefix TMP` of the tarball (npm builds the addon
 * with the package's install script, node-gyp from npm itself), then the
 * installed `vtepd` (package.json's bin, the CommonJS launcher) runs
 * `--version` and `demo` (root: two daemons with AF_PACKET ports in namespaces
 * the demo makes and removes; demo is a command the launcher imports lazily). The tarball must
 * carry the built TypeScript, the addon's sources and the generated contract
 * header, and no tests, benchmarks or reports.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
const skip = process.getuid?.() !== 0 ? 'needs root (the installed vtepd runs demo in network namespaces)'
  : !existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')) ? 'run npm run build first' : false;

t.test('npm pack, install the tarball into a clean prefix, run it', { skip, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-pkg-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: the checkout is built already (npm test builds first).
  const listing = JSON.parse(execFileSync('npm', ['pack', ROOT, '--ignore-scripts', '--json', '--pack-destination', dir], { encoding: 'utf8', cwd: dir })) as { filename: string; files: { path: string }[] }[];
  const files = listing[0].files.map((f) => f.path);
  for (const need of ['dist/src/cli/main.js', 'dist/src/cli/vtepd.cjs', 'native-bindings/binding.gyp', 'native-bindings/src/generated/contract.h', 'native-bindings/bpf/vtepd_xsk.bpf.c', 'scripts/install-addon.mjs', 'LICENSE', 'CHANGELOG.md', 'packaging/vtepd.service']) {
    t.ok(files.includes(need), `the tarball carries ${need}`);
  }
  t.same(files.filter((f) => /^(test|bench|dist\/test|dist\/bench|fixtures|docs\/benchmarks|docs\/cost-report|native-bindings\/build)\//.test(f)), [], 'no tests, benchmarks, fixtures, reports or build output');
  const prefix = join(dir, 'prefix');
  const inst = spawnSync('npm', ['install', '-g', '--prefix', prefix, join(dir, listing[0].filename), '--no-audit', '--no-fund', '--prefer-offline'], { encoding: 'utf8', cwd: dir });
  t.equal(inst.status, 0, `npm install -g succeeded: ${inst.stderr.slice(-800)}`);
  const pkgDir = join(prefix, 'lib', 'node_modules', PKG.name);
  t.ok(existsSync(join(pkgDir, 'native-bindings', 'build', 'Release', 'vtepd_native.node')), 'the install built the addon');
  const bin = join(prefix, 'bin', 'vtepd');
  t.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), PKG.version, 'the installed vtepd runs');
  const demo = spawnSync(bin, ['demo', '--types', 'vxlan', '--count', '2', '--json'], { encoding: 'utf8', cwd: dir, timeout: 180_000 });
  t.equal(demo.status, 0, `demo from the installed package: ${demo.stderr.slice(-800)}`);
  const r = JSON.parse(demo.stdout) as { ok: boolean; runs: { pings: { sent: number; received: number }[] }[] };
  t.ok(r.ok, 'every check of the demo passed');
  t.ok(r.runs[0].pings.every((p) => p.received === p.sent && p.sent === 2), 'every ping answered through live AF_PACKET ports');
});

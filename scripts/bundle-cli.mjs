/**
 * Builds the `vtepd` launcher, dist/src/cli/vtepd.cjs: one CommonJS file with
 * the CLI's entry, its command catalog and the commands that only talk to a
 * running daemon (fdb, stats, ports, evpn), bundled from tsc's output.
 *
 * Why: Node 20 starts an ES-module entry about 8 ms slower than a CommonJS one,
 * each ES module it loads costs a resolve and a link, and a builtin imported
 * as an ES module builds an export facade. For `vtepd fdb show` that came to
 * about 20 ms of a 150 ms budget (issue #13). Every other command stays an ES
 * module under dist/src/cli/commands/, imported by the launcher only when it
 * runs; commander stays external so both sides share one copy of it.
 *
 * Run after tsc (npm run build does); dist/src/cli/main.js remains a working
 * ES-module entry with the same behaviour.
 */
import { build } from 'esbuild';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI_DIR = join(ROOT, 'dist', 'src', 'cli');
const OUT = join(CLI_DIR, 'vtepd.cjs');
/** Commands whose start-up matters most (scripts and monitoring call them in loops) and that load little. */
const BUNDLED = new Set(['fdb.js', 'stats.js', 'ports.js', 'evpn.js']);

/** Every other command's dynamic import() stays an import() of its ES module, its path made relative to the launcher. */
const lazyCommands = {
  name: 'lazy-commands',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      if (!args.path.startsWith('.')) return { path: args.path, external: true };
      const target = join(args.resolveDir, args.path);
      if (BUNDLED.has(relative(join(CLI_DIR, 'commands'), target))) return undefined;
      const rel = relative(CLI_DIR, target);
      return { path: rel.startsWith('.') ? rel : `./${rel}`, external: true };
    });
  },
};

const result = await build({
  entryPoints: [join(CLI_DIR, 'main.js')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Kept as require(): one commander for the launcher and the ES-module commands (instanceof CommanderError).
  external: ['commander'],
  // The launcher sits next to main.js, so paths made from import.meta.url (package.json, commander) still hold.
  define: { 'import.meta.url': '__launcherUrl' },
  banner: { js: "const __launcherUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [lazyCommands],
  logLevel: 'warning',
  metafile: true,
});
const out = Object.values(result.metafile.outputs)[0];
const own = Object.keys(out.inputs).filter((p) => !p.includes('node_modules'));
console.log(`bundle-cli: ${relative(ROOT, OUT)} ${(out.bytes / 1024).toFixed(0)} KiB from ${own.length} modules`);

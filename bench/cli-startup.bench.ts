/**
 * cli-startup: wall time from exec to exit of `vtepd --help` and `vtepd fdb
 * show` (against a socket nobody listens on: the command loads, connects,
 * reports and exits 1), run as the installed `vtepd` runs (package.json's bin,
 * the CommonJS launcher dist/src/cli/vtepd.cjs), next to `node` running an
 * empty CommonJS file on the same host: the part vtepd adds is the difference.
 * A last row runs `fdb show` through the ES-module entry (dist/src/cli/main.js)
 * for what the launcher saves. Target (issue #13): 150 ms for both commands.
 * 15 runs each, interleaved; median and best printed.
 *
 * How it stays low: the CLI loads only the module of the command it runs
 * (src/cli/commands/catalog.ts); the launcher bundles the entry and the
 * daemon-client commands into one CommonJS file (scripts/bundle-cli.mjs); the
 * config schema compiler and the daemon load inside `vtepd run` only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchFigure } from './run.js';

const CLI = fileURLToPath(new URL('../src/cli/vtepd.cjs', import.meta.url));
const ESM_ENTRY = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const RUNS = 15;

export default async function (): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-startup-'));
  const empty = join(dir, 'empty.cjs');
  writeFileSync(empty, '');
  const nobody = join(dir, 'nobody.sock');
  // The first row is the baseline; `targeted`: the row issue #13's 150 ms applies to.
  const cases: { name: string; args: string[]; targeted: boolean }[] = [
    { name: 'node, empty file', args: [empty], targeted: false },
    { name: 'vtepd --help', args: [CLI, '--help'], targeted: true },
    { name: 'vtepd fdb show', args: [CLI, 'fdb', 'show', '--socket', nobody], targeted: true },
    { name: 'fdb show, main.js', args: [ESM_ENTRY, 'fdb', 'show', '--socket', nobody], targeted: false },
  ];
  const times = cases.map(() => [] as number[]);
  for (let r = 0; r < RUNS; r++) {
    cases.forEach(({ args }, i) => {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, args, { stdio: 'ignore' });
      times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  }
  rmSync(dir, { recursive: true, force: true });
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const base = med(times[0]);
  console.log(`cli-startup: exec to exit, ${RUNS} interleaved runs, median (best)`);
  const figures: BenchFigure[] = [];
  cases.forEach(({ name, targeted }, i) => {
    const m = med(times[i]);
    const share = `  vtepd's own share ${(m - base).toFixed(0)} ms`;
    const vtepd = i === 0 ? '' : targeted ? `${share}; target 150 ms: ${m <= 150 ? 'met' : 'NOT met'}` : `${share} (the ES-module entry, for comparison)`;
    console.log(`  ${name.padEnd(20)} ${m.toFixed(0).padStart(5)} ms (${Math.min(...times[i]).toFixed(0)})${vtepd}`);
    figures.push({ name: `startup ${name}`, value: m, unit: 'ms' });
  });
  return figures;
}

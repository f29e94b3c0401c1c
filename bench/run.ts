/**
 * `npm run bench`: runs every bench/*.bench.js (or the ones named on the command
 * line) in sequence, each printing its own figures and how they were taken.
 * Results are also written as JSON to bench/results/latest.json.
 */
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import os from 'node:os';

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export type BenchModule = { default: () => Promise<BenchFigure[]> };

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`vtepd benchmarks — node ${process.version}, ${os.cpus().length} x ${cpu}, ${os.platform()} ${os.release()}`);
console.log(`started ${new Date().toISOString()}\n`);

const all: Record<string, BenchFigure[]> = {};
for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as BenchModule;
  const name = f.replace(/\.bench\.js$/, '');
  console.log(`== ${name}`);
  all[name] = await mod.default();
  console.log('');
}

const outDir = join(here, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'latest.json'), JSON.stringify({ node: process.version, cpu, date: new Date().toISOString(), results: all }, null, 2) + '\n');
console.log(`figures written to bench/results/latest.json`);

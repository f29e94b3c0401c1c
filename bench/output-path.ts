/** Where a benchmark's raw output goes: never over an earlier run's file (docs quote those). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `dir/stem`, or `dir/stem-2`, `-3`, ... : the first base name for which no `base + ext`
 * exists yet, for every ext in `exts` (e.g. ['.txt', '.json']).
 */
export function unusedBase(dir: string, stem: string, exts: readonly string[]): string {
  for (let k = 1; ; k++) {
    const base = join(dir, k === 1 ? stem : `${stem}-${k}`);
    if (exts.every((e) => !existsSync(base + e))) return base;
  }
}

/**
 * What `vtepd_build_info` reports: the package version (read from the
 * package.json above this file, so src/ under tap and dist/ agree), Node's
 * version.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo { version: string; node: string }

let cached: BuildInfo | null = null;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  let version = 'unknown';
  // src/daemon → repo root is 2 up, dist/src/daemon is 3 up: walk up to vtepd's package.json.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vtepd' && typeof pkg.version === 'string') { version = pkg.version; break; }
    } catch { /* not ours: keep walking */ }
  }
  cached = { version, node: process.version };
  return cached;
}

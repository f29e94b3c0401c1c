/** What the daemon integration tests share: the built CLI, their skip reason, `vtepd fdb show` as a user runs it. */
import type { FdbEntryJson } from '../../src/control/fdb-entry.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/native/addon.js';

export const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Why a namespace test with real daemons cannot run here, or false when it can. */
export function daemonTestSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try { loadNative(); } catch (e) { return `native addon missing: ${(e as Error).message}`; }
  try { execFileSync(process.execPath, [MAIN, '--version']); } catch { return 'run npm run build first (the daemons run dist/src/cli/main.js)'; }
  return false;
}

/** `vtepd fdb show --json` through the CLI. */
export function fdbShowCli(socket: string): FdbEntryJson[] {
  const out = execFileSync(process.execPath, [MAIN, 'fdb', 'show', '--json', '--socket', socket], { encoding: 'utf8' }).trim();
  return out === '' ? [] : out.split('\n').map((l) => JSON.parse(l) as FdbEntryJson);
}

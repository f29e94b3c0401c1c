/** What the daemon integration tests share: the built CLI, their skip reason, `vtepd fdb show` as a user runs it. */
import type { FdbEntryCli, FdbEntryJson } from '../../src/control/fdb-entry.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../src/native/addon.js';
import { exitOnSignals } from '../exit-on-signal.js';

export const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Why a namespace test with real daemons cannot run here, or false when it can. */
export function daemonTestSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try { loadNative(); } catch (e) { return `native addon missing: ${(e as Error).message}`; }
  try { execFileSync(process.execPath, [MAIN, '--version']); } catch { return 'run npm run build first (the daemons run dist/src/cli/main.js)'; }
  return false;
}

/** `vtepd fdb show --json` through the CLI (one array, iproute2 key names), as the control API's entries. */
export function fdbShowCli(socket: string): FdbEntryJson[] {
  const out = execFileSync(process.execPath, [MAIN, 'fdb', 'show', '--json', '--socket', socket], { encoding: 'utf8' }).trim();
  const rows = JSON.parse(out) as FdbEntryCli[];
  return rows.map((r) => ({ vni: r.vni, vlan: r.vlan, mac: r.mac, port: r.ifname ?? null, remote: r.dst ?? null, static: r.state === 'static', ageSeconds: r.ageSeconds }));
}

/**
 * Remove a lab's namespaces and daemons when this test process ends, however it ends:
 * normally, by an uncaught error, or by a signal (see exitOnSignals).
 */
export function closeOnExit(lab: { closeSync(): void }): void {
  process.once('exit', () => lab.closeSync());
  exitOnSignals();
}

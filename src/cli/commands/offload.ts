/**
 * `vtepd offload probe [--json] [--iface IF]`: which placements (host, native,
 * kernel, nic) this host offers per function and tunnel type, and why not where
 * not. The probe changes nothing on the host: kernel device types are tried in
 * a throwaway network namespace.
 */
import { UsageError } from '../../config/usage-error.js';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { probeHost } from '../../offload/host-probe.js';
import { availabilityMatrix, type AvailabilityRow } from '../../offload/availability.js';
import { PLACEMENTS } from '../../offload/plan-schema.js';

function text(rows: AvailabilityRow[], head: string): string {
  const cols = ['function', 'tunnel', ...PLACEMENTS];
  const body = rows.map((r) => [r.function, r.tunnel ?? '-', ...PLACEMENTS.map((p) => (r.placements[p].ok ? 'yes' : 'no'))]);
  const w = cols.map((c, i) => Math.max(c.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  const out = [head, '', line(cols), ...body.map(line), '', 'why not:'];
  for (const r of rows) {
    for (const p of PLACEMENTS) {
      const a = r.placements[p];
      if (!a.ok) out.push(`  ${r.function}${r.tunnel ? ` (${r.tunnel})` : ''} on ${p}: ${a.reason}`);
    }
  }
  return out.join('\n') + '\n';
}

export function register(program: Command): void {
  const offload = program.command('offload').description('offload placements: what this host can hand to the native addon, the kernel or the NIC');
  offload
    .command('probe')
    .description('show per function which placements (host/native/kernel/nic) this host offers, and why not')
    .option('--json', 'machine-readable output (with the reason for every verdict)')
    .option('--iface <IF>', 'interface whose NIC features count (default: the default route\'s)')
    .action(async (opts: { json?: boolean; iface?: string }) => {
      if (opts.iface !== undefined && !existsSync(`/sys/class/net/${opts.iface}`)) {
        throw new UsageError(`no interface "${opts.iface}" in this network namespace`);
      }
      const caps = await probeHost({ iface: opts.iface });
      const rows = availabilityMatrix(caps);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ kernelRelease: caps.kernelRelease, nic: caps.nic, native: caps.native, kernel: caps.kernel, availability: rows }, null, 2) + '\n');
        return;
      }
      const nic = caps.nic ? `${caps.nic.iface} (driver ${caps.nic.driver ?? 'unknown'}${caps.nic.hasDevice ? '' : ', software device'})` : 'none (no default route; use --iface)';
      process.stdout.write(text(rows, `kernel ${caps.kernelRelease}; NIC probed: ${nic}`));
    });
}

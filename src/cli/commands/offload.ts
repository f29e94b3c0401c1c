/**
 * `vtepd offload probe [--json] [--iface IF]`: which placements (host, native,
 * kernel, nic) this host offers per function and tunnel type, and why not where
 * not. The probe changes nothing on the host: kernel device types are tried in
 * a throwaway network namespace.
 */
import { summary } from './catalog.js';
import { UsageError } from '../../config/usage-error.js';
import { existsSync } from 'node:fs';
import type { Command } from '../commander.js';
import { probeHost } from '../../offload/host-probe.js';
import { availabilityMatrix, type AvailabilityRow } from '../../offload/availability.js';
import { PLACEMENTS } from '../../offload/plan-schema.js';
import { probeAfXdp, type AfXdpCapabilities } from '../../offload/afxdp-probe.js';
import { probeStackBypass } from '../../offload/stack-bypass-probe.js';

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

/** The AF_XDP section: host verdicts, then a row per interface and the reason for every "no". */
export function afxdpText(x: AfXdpCapabilities): string {
  const yn = (ok: boolean) => (ok ? 'yes' : 'no');
  const out = [`AF_XDP (backend afxdp, underlay.transport afxdp): sockets ${yn(x.sockets.ok)}, XDP program ${x.program.ok ? 'built' : 'missing'}, ` +
    `trial on a veth ${yn(x.trial.ok)}: ${x.trial.reason}`];
  const cols = ['interface', 'driver', 'queues', 'native', 'generic', 'zero-copy', 'attach'];
  const body = x.interfaces.map((i) => [i.interface, i.driver, String(i.queues), yn(i.native.ok), yn(i.generic.ok), yn(i.zeroCopy.ok), yn(i.attach.ok)]);
  const w = cols.map((c, k) => Math.max(c.length, ...body.map((b) => b[k].length)));
  const line = (cells: string[]) => cells.map((c, k) => c.padEnd(w[k])).join('  ').trimEnd();
  // The same attach question for vtepd_xdp (the xdp plan): native, else generic; vtepd falls back by itself.
  out.push('', 'per interface: native or generic XDP (where vtepd_xdp of the xdp plan attaches too; it falls back to generic) and AF_XDP', line(cols), ...body.map(line));
  const why: string[] = [];
  if (!x.sockets.ok) why.push(`  sockets: ${x.sockets.reason}`);
  if (!x.program.ok) why.push(`  program: ${x.program.reason}`);
  for (const i of x.interfaces) {
    for (const k of ['native', 'zeroCopy', 'attach'] as const) if (!i[k].ok) why.push(`  ${i.interface} ${k === 'zeroCopy' ? 'zero-copy' : k}: ${i[k].reason}`);
  }
  if (why.length > 0) out.push('', 'why not:', ...why);
  return out.join('\n') + '\n';
}

export function register(program: Command): void {
  const offload = program.command('offload').description(summary('offload'));
  offload
    .command('probe')
    .description('show per function which placements (host/native/kernel/xdp/nic) this host offers, and why not')
    .option('-j, --json', 'machine-readable output (with the reason for every verdict)')
.option('-p, --pretty', 'indent the JSON')
    .option('--iface <IF>', 'interface whose NIC features count (default: the default route\'s); AF_XDP is probed on it (default: every interface)')
    .action(async (opts: { json?: boolean; pretty?: boolean; iface?: string }) => {
      if (opts.iface !== undefined && !existsSync(`/sys/class/net/${opts.iface}`)) {
        throw new UsageError(`no interface "${opts.iface}" in this network namespace`);
      }
      // The bypass is no placement of a function (no column): only this command asks, so `vtepd cost`'s plan check does not pay for its trial attach.
      const [caps, afxdp, stackBypass] = await Promise.all([probeHost({ iface: opts.iface }), probeAfXdp(opts.iface === undefined ? undefined : [opts.iface]), probeStackBypass()]);
      const rows = availabilityMatrix(caps);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ kernelRelease: caps.kernelRelease, nic: caps.nic, native: caps.native, kernel: caps.kernel, availability: rows, afxdp, stackBypass }, null, opts.pretty ? 2 : undefined) + '\n');
        return;
      }
      const nic = caps.nic ? `${caps.nic.iface} (driver ${caps.nic.driver ?? 'unknown'}${caps.nic.hasDevice ? '' : ', software device'})` : 'none (no default route; use --iface)';
      const bypass = `\nhost-stack bypass (tcx, underlay.transport afpacket): ${stackBypass.ok ? 'yes' : 'no'}: ${stackBypass.reason}\n`;
      process.stdout.write(text(rows, `kernel ${caps.kernelRelease}; NIC probed: ${nic}`) + '\n' + afxdpText(afxdp) + bypass);
    });
}

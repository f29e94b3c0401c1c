/** `vtepd ports`: the running daemon's ports and their counters. */
import { summary } from './catalog.js';
import { Command, Option } from '../commander.js';
import { callDaemon } from '../../control/control-client.js';
import { DEFAULT_SOCKET } from '../../config/defaults.js';
import type { PortStats } from '../../control/stats.js';

export function formatPorts(ports: PortStats[]): string {
  const lines = ['ports', '  name         interface    backend   role      vni       state   rx-pkts    tx-pkts    drops  kernel-drops'];
  for (const p of ports) {
    lines.push(`  ${p.name.padEnd(12)} ${p.interface.padEnd(12)} ${p.backend.padEnd(9)} ${p.role.padEnd(9)} ${String(p.vni ?? '-').padEnd(9)} ${(p.up ? 'up' : 'down').padEnd(7)} ${String(p.rxPackets).padStart(8)} ${String(p.txPackets).padStart(10)} ${String(p.drops).padStart(8)} ${String(p.kernelDrops).padStart(13)}`);
    // Which drops, and what the backend is doing (AF_XDP: XDP and socket mode, kicks), one indented line each.
    const why = Object.entries(p.dropReasons ?? {});
    if (why.length > 0) lines.push(`      drops: ${why.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const d = Object.entries(p.details ?? {}).filter(([, v]) => v !== null);
    if (d.length > 0) lines.push(`      ${p.backend}: ${d.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
  // Why frames were lost (RX ring, socket, TX ring full, refused), per port, when any were.
  for (const p of ports) {
    const why = Object.entries(p.dropReasons ?? {}).map(([r, v]) => `${r} ${v}`);
    if ((p.txFullEvents ?? 0) > 0) why.push(`tx-full-events ${p.txFullEvents}`);
    if (p.lastTxError) why.push(`last tx error ${p.lastTxError}`);
    if (why.length > 0) lines.push(`  ${p.name}: ${why.join(', ')}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program.command('ports')
    .description(summary('ports'))
    .addOption(new Option('--socket <path>', 'control socket of the daemon').default(DEFAULT_SOCKET))
    .option('-j, --json', 'machine-readable')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: { socket: string; json?: boolean; pretty?: boolean }) => {
      const ports = (await callDaemon(o.socket, 'ports')) as PortStats[];
      process.stdout.write((o.json ? JSON.stringify(ports, null, o.pretty ? 2 : undefined) : formatPorts(ports)) + '\n');
    });
}

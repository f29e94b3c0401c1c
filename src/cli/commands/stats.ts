/** `vtepd stats`: the running daemon's counters (ports, networks, stage timings, drops). */
import { summary } from './catalog.js';
import { Command, Option } from '../commander.js';
import { callDaemon } from '../../control/control-client.js';
import { DEFAULT_SOCKET } from '../../config/defaults.js';
import type { StatsSnapshot } from '../../control/stats.js';
import { formatPorts } from './ports.js';

export function formatStats(s: StatsSnapshot): string {
  const lines: string[] = [`uptime ${s.uptimeSeconds.toFixed(1)} s`, '', formatPorts(s.ports), ''];
  lines.push('networks');
  lines.push('  vni       type    flooded    unicast    learned  moved  aged  dropped  fdb');
  for (const n of s.networks) {
    lines.push(`  ${String(n.vni).padEnd(9)} ${n.type.padEnd(7)} ${pad(n.flooded, 7)} ${pad(n.unicast, 10)} ${pad(n.learned, 10)} ${pad(n.moved, 6)} ${pad(n.aged, 5)} ${pad(n.dropped, 8)} ${pad(n.fdbEntries, 4)}`);
  }
  lines.push('', `offload: ${Object.entries(s.offload ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  lines.push('', 'stages (ns per frame = time / frames)');
  for (const st of s.stages) {
    const ns = st.packets > 0 ? (st.seconds * 1e9) / st.packets : 0;
    lines.push(`  ${st.stage.padEnd(9)} ${pad(st.batches, 10)} batches ${pad(st.packets, 12)} frames ${ns.toFixed(0).padStart(8)} ns/frame`);
  }
  const drops = Object.entries(s.drops);
  lines.push('', drops.length === 0 ? 'drops: none' : 'drops');
  for (const [k, v] of drops) lines.push(`  ${k.padEnd(36)} ${v}`);
  const b = s.hostStackBypass;
  if (b) {
    lines.push('', b.state === 'on'
      ? `host-stack bypass on ${b.interface}: on, ${b.dropped} tunnel frames kept from the host stack, ${b.passed} passed to it`
      : `host-stack bypass on ${b.interface}: off (${b.reason ?? 'unknown'})`);
  }
  if (s.xdp) {
    // The programs' verdicts: redirected = the fast path, pass-* = up to the slow path, the rest hostile frames dropped.
    lines.push('', 'xdp programs (frames)');
    for (const [k, v] of Object.entries(s.xdp)) if (v !== 0) lines.push(`  ${k.padEnd(36)} ${v}`);
  }
  return lines.join('\n');
}

function pad(n: number, w: number): string {
  return String(n).padStart(w);
}

export function register(program: Command): void {
  program.command('stats')
    .description(summary('stats'))
    .addOption(new Option('--socket <path>', 'control socket of the daemon').default(DEFAULT_SOCKET))
    .option('-j, --json', 'machine-readable')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: { socket: string; json?: boolean; pretty?: boolean }) => {
      const s = (await callDaemon(o.socket, 'stats')) as StatsSnapshot;
      process.stdout.write((o.json ? JSON.stringify(s, null, o.pretty ? 2 : undefined) : formatStats(s)) + '\n');
    });
}

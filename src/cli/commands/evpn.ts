/**
 * `vtepd evpn show [--json] [--no-routes]`: the running daemon's EVPN control
 * plane: speaker session, BGP peers, per network RD/RT and remote VTEPs,
 * routes out (advertised) and in (received), counters.
 */
import { summary } from './catalog.js';
import { Command, Option } from '../commander.js';
import { callDaemon } from '../../control/control-client.js';
import { DEFAULT_SOCKET } from '../../config/defaults.js';
import type { EvpnSnapshot } from '../../evpn/snapshot.js';

export function formatEvpn(s: EvpnSnapshot): string {
  const sp = s.speaker;
  const lines: string[] = [
    `speaker ${sp.api}: ${sp.connected ? `connected ${sp.connectedSeconds.toFixed(0)} s` : `NOT connected${sp.lastError ? ` (${sp.lastError})` : ''}`}, ASN ${sp.asn ?? '?'}, router-id ${sp.routerId ?? '?'}`,
    '', 'peers',
  ];
  if (s.peers.length === 0) lines.push('  (none)');
  for (const p of s.peers) lines.push(`  ${p.address.padEnd(16)} AS ${String(p.asn).padEnd(10)} ${p.state.padEnd(12)}${p.received !== undefined ? ` received ${p.received} accepted ${p.accepted ?? 0}` : ''}`);
  lines.push('', 'networks');
  for (const n of s.networks) {
    lines.push(`  VNI ${n.vni} ${n.type} RD ${n.rd} RT ${n.rt.join(',')}: ${n.localMacs} local MACs, ${n.remoteMacs} remote MACs, remote VTEPs ${n.remotes.join(' ') || '(none)'}`);
  }
  const c = s.counts;
  lines.push('', `routes out ${c.routesOut} (pending ${c.pendingUpdates}), in ${c.routesIn} (stale ${c.staleRoutes})`);
  if (s.routesOut) for (const r of s.routesOut) lines.push(`  > ${r.text}`);
  if (s.routesIn) for (const r of s.routesIn) lines.push(`  < ${r.text}${r.stale ? ' STALE' : ''}${r.type === 2 && !r.installed ? ' (not best)' : ''}`);
  const nz = Object.entries(s.counters).filter(([, v]) => v !== 0);
  lines.push('', 'counters');
  for (const [k, v] of nz) lines.push(`  ${k.padEnd(20)} ${v}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const evpn = program.command('evpn').description(summary('evpn'));
  evpn.command('show')
    .description('speaker session, BGP peers, networks, routes in and out, counters')
    .addOption(new Option('--socket <path>', 'control socket of the daemon').default(DEFAULT_SOCKET))
    .option('-j, --json', 'machine-readable')
    .option('-p, --pretty', 'indent the JSON')
    .option('--no-routes', 'leave the route lists out (counts only)')
    .action(async (o: { socket: string; json?: boolean; pretty?: boolean; routes: boolean }) => {
      const s = (await callDaemon(o.socket, 'evpn.show', { routes: o.routes })) as EvpnSnapshot;
      process.stdout.write((o.json ? JSON.stringify(s, null, o.pretty ? 2 : undefined) : formatEvpn(s)) + '\n');
    });
}

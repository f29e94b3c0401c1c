/**
 * `vtepd fdb show|add|del|flush`: the running daemon's MAC table, through the
 * control socket. Output mimics `bridge fdb show`; -j/--json prints one JSON
 * document (an array for show, `[]` when empty) with iproute2's key names, -p pretty.
 */
import { summary } from './catalog.js';
import { fdbEntryCli, formatFdbEntry, type FdbEntryJson } from '../../control/fdb-entry.js';
import { UsageError } from '../../config/usage-error.js';
import { Command, Option } from '../commander.js';
import { callDaemon } from '../../control/control-client.js';
import { intArg, ipArg, macArg } from '../arg-parsers.js';
import type { FdbStats } from '../../control/fdb-stats.js';
import { DEFAULT_SOCKET } from '../../config/defaults.js';

const socketOpt = (): Option => new Option('--socket <path>', 'control socket of the daemon').default(DEFAULT_SOCKET);

const vniArg = intArg(0, 16777215);

export function register(program: Command): void {
  const fdb = program.command('fdb').description(summary('fdb'));

  fdb.command('show')
    .description('list FDB entries')
    .addOption(socketOpt())
    .option('--vni <n>', 'only this VNI', vniArg)
    .option('-j, --json', 'one JSON array of entries (keys as bridge -j fdb show: mac, ifname, dst, state; plus vni, vlan, ageSeconds)')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: { socket: string; vni?: number; json?: boolean; pretty?: boolean }) => {
      const entries = (await callDaemon(o.socket, 'fdb.show', o.vni === undefined ? {} : { vni: o.vni })) as FdbEntryJson[];
      if (o.json) {
        process.stdout.write(JSON.stringify(entries.map(fdbEntryCli), null, o.pretty ? 2 : undefined) + '\n');
        return;
      }
      if (entries.length > 0) process.stdout.write(entries.map(formatFdbEntry).join('\n') + '\n');
    });

  fdb.command('stats')
    .description('entries against the table\'s limits: current and maximum, per port and per remote (like ovs-appctl fdb/stats-show)')
    .addOption(socketOpt())
    .option('-j, --json', 'one JSON document')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: { socket: string; json?: boolean; pretty?: boolean }) => {
      const s = (await callDaemon(o.socket, 'fdb.stats')) as FdbStats;
      // Loaded here: `fdb show` (start-up time counts, issue #13) never needs the table formatter.
      process.stdout.write(o.json ? JSON.stringify(s, null, o.pretty ? 2 : undefined) + '\n' : (await import('../../control/fdb-stats.js')).formatFdbStats(s));
    });

  fdb.command('add')
    .description('add a static entry (never aged, never overwritten by learning)')
    .addOption(socketOpt())
    .requiredOption('--vni <n>', 'network', vniArg)
    .requiredOption('--mac <mac>', 'MAC address', macArg)
    .option('--port <name>', 'local port the MAC lives behind')
    .option('--remote <ip>', 'remote VTEP the MAC lives behind', ipArg)
    .action(async (o: { socket: string; vni: number; mac: string; port?: string; remote?: string }) => {
      if ((o.port === undefined) === (o.remote === undefined)) throw new UsageError('fdb add needs exactly one of --port or --remote');
      await callDaemon(o.socket, 'fdb.add', { vni: o.vni, mac: o.mac, port: o.port, remote: o.remote });
    });

  fdb.command('del')
    .description('delete one entry')
    .addOption(socketOpt())
    .requiredOption('--vni <n>', 'network', vniArg)
    .requiredOption('--mac <mac>', 'MAC address', macArg)
    .action(async (o: { socket: string; vni: number; mac: string }) => {
      await callDaemon(o.socket, 'fdb.del', { vni: o.vni, mac: o.mac });
    });

  fdb.command('flush')
    .description('remove learned entries (all, or by port, remote VTEP or VNI); static ones stay')
    .addOption(socketOpt())
    .option('--port <name>', 'only entries behind this local port')
    .option('--remote <ip>', 'only entries behind this remote VTEP', ipArg)
    .option('--vni <n>', 'only this VNI', vniArg)
    .option('-j, --json', 'print {"removed": N}')
    .action(async (o: { socket: string; port?: string; remote?: string; vni?: number; json?: boolean }) => {
      const r = (await callDaemon(o.socket, 'fdb.flush', { port: o.port, remote: o.remote, vni: o.vni })) as { removed: number };
      process.stdout.write(o.json ? `${JSON.stringify({ removed: r.removed })}\n` : `flushed ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'}\n`);
    });
}

/**
 * Control API of the kernel data path (KernelDaemon): the same commands and
 * result shapes as the userspace daemon's (handlers.ts), so `vtepd stats`,
 * `vtepd ports` and `vtepd fdb ...` work unchanged. The answers come from the
 * kernel (iproute2), so every handler is async; argument checking is the same.
 */
import type { FdbEntryJson } from '../control/fdb-entry.js';
import { ControlError, type Handlers } from '../control/control-server.js';
import { optVni, reqVni, reqMac as reqMacAsGiven, optStr, optRemote as optIp } from '../control/control-args.js';
import type { PortStats, StatsSnapshot } from '../control/stats.js';

export interface FlushFilter { vni?: number; port?: string; remote?: string }

export interface KernelDaemonView {
  status(): Record<string, unknown>;
  stats(): Promise<StatsSnapshot>;
  ports(): Promise<PortStats[]>;
  fdbShow(vni?: number): Promise<FdbEntryJson[]>;
  fdbAdd(vni: number, mac: string, port?: string, remote?: string): Promise<void>;
  fdbDel(vni: number, mac: string): Promise<void>;
  fdbFlush(filter: FlushFilter): Promise<number>;
  reload(): Promise<{ reloaded: boolean; error?: string }>;
}

/** MACs as the kernel prints them (lower case), so desired and actual entries compare equal. */
const reqMac = (a: Record<string, unknown>): string => reqMacAsGiven(a).toLowerCase();

export function kernelControlHandlers(d: KernelDaemonView): Handlers {
  return {
    ping: () => 'pong',
    status: () => d.status(),
    stats: () => d.stats(),
    ports: () => d.ports(),
    'fdb.show': (a) => d.fdbShow(optVni(a)),
    'fdb.add': async (a) => {
      const vni = reqVni(a);
      const mac = reqMac(a);
      const port = optStr(a, 'port');
      const remote = optIp(a);
      if ((port === undefined) === (remote === undefined)) throw new ControlError('fdb.add needs exactly one of port or remote');
      if (mac === '00:00:00:00:00:00' || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw new ControlError('mac: must be a unicast MAC (flood remotes come from networks[].remotes)');
      await d.fdbAdd(vni, mac, port, remote);
      return { added: true };
    },
    'fdb.del': async (a) => {
      await d.fdbDel(reqVni(a), reqMac(a));
      return { deleted: true };
    },
    'fdb.flush': async (a) => ({ removed: await d.fdbFlush({ vni: optVni(a), port: optStr(a, 'port'), remote: optIp(a) }) }),
    reload: () => d.reload(),
  };
}

/**
 * Control API of the kernel data path (KernelDaemon): the same commands and
 * result shapes as the userspace daemon's (handlers.ts), so `vtepd stats`,
 * `vtepd ports` and `vtepd fdb ...` work unchanged. The answers come from the
 * kernel (iproute2), so every handler is async; argument checking is the same.
 */
import { isIP } from 'node:net';
import { ControlError, type Handlers } from './control-server.js';
import type { PortStats, StatsSnapshot } from './stats.js';
import type { FdbEntryJson } from '../cli/commands/fdb.js';

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

function optVni(a: Record<string, unknown>): number | undefined {
  if (a.vni === undefined || a.vni === null) return undefined;
  if (!Number.isInteger(a.vni) || (a.vni as number) < 0 || (a.vni as number) > 0xffffff) throw new ControlError('vni: must be an integer 0..16777215');
  return a.vni as number;
}
function reqVni(a: Record<string, unknown>): number {
  const v = optVni(a);
  if (v === undefined) throw new ControlError('vni: is required');
  return v;
}
function reqMac(a: Record<string, unknown>): string {
  if (typeof a.mac !== 'string' || !/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(a.mac)) throw new ControlError('mac: must be a MAC address like 02:00:00:00:00:01');
  return a.mac.toLowerCase();
}
function optStr(a: Record<string, unknown>, k: string): string | undefined {
  if (a[k] === undefined || a[k] === null) return undefined;
  if (typeof a[k] !== 'string' || a[k] === '') throw new ControlError(`${k}: must be a non-empty string`);
  return a[k] as string;
}
function optIp(a: Record<string, unknown>): string | undefined {
  const r = optStr(a, 'remote');
  if (r !== undefined && isIP(r) === 0) throw new ControlError('remote: must be an IPv4 or IPv6 address');
  return r;
}

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

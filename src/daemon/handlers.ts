/**
 * Control API commands: argument checking (a bad argument is a ControlError the
 * client prints as is) and the calls into the running data plane.
 */
import { isIP } from 'node:net';
import { parseAddrWords } from '../l2/bridge-domain.js';
import { parseMacWords } from '../l2/mac-text.js';
import { ControlError, type Handlers } from './control-server.js';
import { fdbEntries, portsSnapshot } from './snapshot.js';
import type { StatsSnapshot } from './stats.js';
import type { Dataplane } from '../pipeline/dataplane.js';

export interface DaemonView {
  dataplane(): Dataplane;
  startedAt: number;
  status(): Record<string, unknown>;
  stats(): StatsSnapshot;
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
  return a.mac;
}
function optStr(a: Record<string, unknown>, k: string): string | undefined {
  if (a[k] === undefined || a[k] === null) return undefined;
  if (typeof a[k] !== 'string' || a[k] === '') throw new ControlError(`${k}: must be a non-empty string`);
  return a[k] as string;
}
/** Data-plane errors about user input (unknown VNI, not a member) become ControlErrors. */
function user<T>(fn: () => T): T {
  try { return fn(); } catch (e) { throw new ControlError((e as Error).message); }
}

export function controlHandlers(d: DaemonView): Handlers {
  return {
    ping: () => 'pong',
    status: () => d.status(),
    stats: () => d.stats(),
    ports: () => portsSnapshot(d.dataplane()),
    'fdb.show': (a) => { const vni = optVni(a); return user(() => fdbEntries(d.dataplane(), vni)); },
    'fdb.add': (a) => {
      const vni = reqVni(a);
      const mac = reqMac(a);
      const port = optStr(a, 'port');
      const remote = optStr(a, 'remote');
      if ((port === undefined) === (remote === undefined)) throw new ControlError('fdb.add needs exactly one of port or remote');
      if (remote !== undefined && isIP(remote) === 0) throw new ControlError('remote: must be an IPv4 or IPv6 address');
      user(() => d.dataplane().addStatic(vni, mac, port, remote));
      return { added: true };
    },
    'fdb.del': (a) => {
      const vni = reqVni(a);
      const [hi, lo] = parseMacWords(reqMac(a));
      const dp = d.dataplane();
      const dom = user(() => dp.domainOf(vni));
      if (!dp.table.delete(dom, hi, lo)) throw new ControlError(`no FDB entry for ${a.mac as string} in VNI ${vni}`);
      return { deleted: true };
    },
    'fdb.flush': (a) => {
      const vni = optVni(a);
      const port = optStr(a, 'port');
      const remote = optStr(a, 'remote');
      const dp = d.dataplane();
      const filter: { domain?: number; port?: number; remote?: number } = {};
      if (vni !== undefined) filter.domain = user(() => dp.domainOf(vni));
      if (port !== undefined) {
        const dev = dp.devices.find((x) => x.members.some((m) => m.name === port) || x.iface === port);
        if (!dev) throw new ControlError(`no port named ${port}`);
        filter.port = dev.port.index;
      }
      if (remote !== undefined) {
        if (isIP(remote) === 0) throw new ControlError('remote: must be an IPv4 or IPv6 address');
        const [w0, w1, w2, w3, v6] = parseAddrWords(remote);
        const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
        if (r < 0) throw new ControlError(`${remote} is not a remote VTEP of any network`);
        filter.remote = r;
      }
      return { removed: dp.table.flush(filter) };
    },
    reload: () => d.reload(),
  };
}

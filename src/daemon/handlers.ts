/**
 * Control API commands: argument checking (a bad argument is a ControlError the
 * client prints as is) and the calls into the running data plane.
 */
import { parseAddrWords } from '../l2/bridge-domain.js';
import { parseMacWords } from '../l2/mac-text.js';
import { ControlError, type Handlers } from '../control/control-server.js';
import { optVni, reqVni, reqMac, optStr, optRemote } from '../control/control-args.js';
import { traceArgs } from '../control/trace.js';
import { fdbEntries, portsSnapshot } from './snapshot.js';
import type { StatsSnapshot } from '../control/stats.js';
import type { Dataplane } from '../pipeline/dataplane.js';

export interface DaemonView {
  dataplane(): Dataplane;
  startedAt: number;
  status(): Record<string, unknown>;
  stats(): StatsSnapshot;
  reload(): Promise<{ reloaded: boolean; error?: string }>;
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
      const remote = optRemote(a);
      if ((port === undefined) === (remote === undefined)) throw new ControlError('fdb.add needs exactly one of port or remote');
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
      const remote = optRemote(a);
      const dp = d.dataplane();
      const filter: { domain?: number; port?: number; remote?: number } = {};
      if (vni !== undefined) filter.domain = user(() => dp.domainOf(vni));
      if (port !== undefined) {
        const dev = dp.devices.find((x) => x.members.some((m) => m.name === port) || x.iface === port);
        if (!dev) throw new ControlError(`no port named ${port}`);
        filter.port = dev.port.index;
      }
      if (remote !== undefined) {
        const [w0, w1, w2, w3, v6] = parseAddrWords(remote);
        const r = dp.domains.remoteIndex(w0, w1, w2, w3, v6);
        if (r < 0) throw new ControlError(`${remote} is not a remote VTEP of any network`);
        filter.remote = r;
      }
      return { removed: dp.table.flush(filter) };
    },
    reload: () => d.reload(),
    trace: (a) => {
      const { count, timeoutMs } = traceArgs(a);
      return d.dataplane().trace(count, timeoutMs).catch((e: Error) => { throw new ControlError(e.message, 'busy'); });
    },
  };
}

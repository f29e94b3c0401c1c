/**
 * The control API commands, one set for every backend: arguments are checked
 * here (src/control/control-args.ts; a bad one is a ControlError the client
 * prints as it is), then the call goes through the lifecycle's operation
 * queue to the backend, carrying the client's abort signal so a request whose
 * client has gone is skipped. `fdb.show` answers with a ListReply, streamed
 * to the client as it reads.
 */
import { ControlError, ListReply, type Handlers } from '../control/control-server.js';
import { optVni, reqVni, reqMac, optStr, optRemote } from '../control/control-args.js';
import { traceArgs } from '../control/trace.js';
import { fdbStats } from '../control/fdb-stats.js';
import { unicastMacProblem } from '../l2/mac-text.js';
import type { Lifecycle } from './lifecycle.js';

export function controlApi(d: Lifecycle): Handlers {
  const b = d.backend;
  return {
    // Answered once the data path runs (the socket is bound before it starts): `ping` is the readiness check.
    ping: async () => { await d.started; return 'pong'; },
    status: async () => { await d.started; return d.status(); },
    stats: (_a, ctx) => d.serial(() => b.stats(), { signal: ctx.signal }),
    ports: (_a, ctx) => d.serial(() => b.ports(), { signal: ctx.signal }),
    'fdb.show': async (a, ctx) => {
      const vni = optVni(a);
      return new ListReply(await d.serial(() => b.fdbShow(vni), { signal: ctx.signal }));
    },
    'fdb.stats': async (_a, ctx) => d.serial(async () => {
      const f = d.config().fdb;
      return fdbStats(await b.fdbShow(), f, (await b.stats()).networks);
    }, { signal: ctx.signal }),
    'fdb.add': async (a, ctx) => {
      const vni = reqVni(a);
      // MACs as the kernel prints them (lower case), so desired and actual entries compare equal.
      const mac = reqMac(a).toLowerCase();
      const port = optStr(a, 'port');
      const remote = optRemote(a);
      if ((port === undefined) === (remote === undefined)) throw new ControlError('fdb.add needs exactly one of port or remote');
      const notUnicast = unicastMacProblem(mac);
      if (notUnicast !== null) throw new ControlError(`mac: ${notUnicast}`);
      await d.serial(() => b.fdbAdd(port !== undefined ? { vni, mac, port } : { vni, mac, remote }), { signal: ctx.signal });
      return { added: true };
    },
    'fdb.del': async (a, ctx) => {
      const vni = reqVni(a);
      const mac = reqMac(a).toLowerCase();
      await d.serial(() => b.fdbDel(vni, mac), { signal: ctx.signal });
      return { deleted: true };
    },
    'fdb.flush': async (a, ctx) => {
      const f = { vni: optVni(a), port: optStr(a, 'port'), remote: optRemote(a) };
      return { removed: await d.serial(() => b.fdbFlush(f), { signal: ctx.signal }) };
    },
    reload: () => d.reload(),
    // Control planes' state is their own (not the data path's): read without the queue.
    'evpn.show': async (a) => {
      await d.started;
      const p = d.plane('evpn');
      if (p?.show === undefined) {
        throw new ControlError(d.config()['control-plane'] === 'evpn'
          ? "this daemon's EVPN routes are FRR's (speaker: frr): ask it, e.g. vtysh -c 'show bgp l2vpn evpn'"
          : 'this daemon runs without an EVPN control plane (control-plane: static)');
      }
      return p.show(a);
    },
    // Not queued: a trace waits for traffic, and FDB commands must still run meanwhile.
    trace: async (a) => {
      const { count, timeoutMs } = traceArgs(a);
      await d.started;
      if (b.trace === undefined) throw new ControlError(`trace needs vtepd's own data path (this daemon runs ${b.mode} mode)`);
      return b.trace(count, timeoutMs);
    },
  };
}

/**
 * MAC events of kernel mode: the kernel learns and ages by itself and tells
 * nobody, so the learned entries of two watch rounds are compared. Events
 * arrive at the watch interval (kernel-backend.ts WATCH_MS), and an entry
 * learned and aged between two rounds is never seen.
 */
import type { KernelFdbRow } from '../offload/kernel-fdb.js';
import type { MacEvent } from './backend.js';

type Learned = KernelFdbRow & { vni: number };

/** learned / moved / aged events that turn `prev` into `cur` (keys: vni/mac; port: config port name). */
export function learnedEvents(prev: Map<string, Learned>, cur: Map<string, Learned>): MacEvent[] {
  const out: MacEvent[] = [];
  const ev = (kind: MacEvent['kind'], r: Learned): MacEvent => ({ kind, vni: r.vni, mac: r.mac, port: r.port, remote: r.dst });
  for (const [k, r] of cur) {
    const p = prev.get(k);
    if (p === undefined) out.push(ev('learned', r));
    else if (p.port !== r.port || p.dst !== r.dst) out.push(ev('moved', r));
  }
  for (const [k, p] of prev) if (!cur.has(k)) out.push(ev('aged', p));
  return out;
}

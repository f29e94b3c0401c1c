/**
 * Reading the data path's counters into plain data (stats.ts shapes) and the
 * FDB into `fdb show` entries. Control path: allocates freely, runs on demand.
 */
import type { FdbEntryJson } from '../control/fdb-entry.js';
import { readFileSync } from 'node:fs';
import { formatMac } from '../l2/mac-text.js';
import { TICKS_PER_SECOND } from '../l2/mac-table.js';
import { DROP_CODES, DROP_REASONS } from '../batch/drop-reasons.js';
import { MacSnapshot } from '../l2/mac-snapshot.js';
import type { Port } from '../ports/port.js';
import { displayName, type Dataplane } from '../pipeline/dataplane.js';
import type { NetworkStats, PortStats, StatsSnapshot } from '../control/stats.js';

type PortSpecific = Pick<PortStats, 'interface' | 'role' | 'vni' | 'vlan' | 'up'> & { name?: string };

function portStats(p: Port, s: PortSpecific): PortStats {
  p.pollStats();
  const c = p.counters;
  return {
    name: s.name ?? p.name, interface: s.interface, backend: p.kind, role: s.role, vni: s.vni, vlan: s.vlan, up: s.up,
    rxPackets: c.rxPackets, rxBytes: c.rxBytes, txPackets: c.txPackets, txBytes: c.txBytes, drops: c.totalDrops - c.kernelDrops, kernelDrops: c.kernelDrops,
    dropReasons: c.dropReasons(), txFullEvents: c.txFullEvents, txSyscalls: c.txSyscalls, lastTxError: c.lastTxError,
    ...(p.details ? { details: p.details() } : {}),
  };
}

/** Link state from sysfs of this namespace ('unknown' counts as up: TAP and some virtual devices report it). */
function linkUp(backend: string, iface: string): boolean {
  if (backend === 'pcap') return true;
  try {
    const s = readFileSync(`/sys/class/net/${iface}/operstate`, 'utf8').trim();
    return s === 'up' || s === 'unknown';
  } catch {
    return false;
  }
}

export function portsSnapshot(dp: Dataplane): PortStats[] {
  const out: PortStats[] = [];
  for (const d of dp.devices) {
    const nets = dp.cfg.networks.filter((n) => d.members.some((m) => n.ports.includes(m.name)));
    out.push(portStats(d.port, {
      name: displayName(d), interface: d.iface, role: 'local',
      vni: nets.length === 1 ? nets[0].vni : null,
      vlan: d.members.length === 1 && d.members[0].vlan > 0 ? d.members[0].vlan : null, up: linkUp(d.backend, d.iface),
    }));
  }
  const ul = dp.cfg.underlay.interface;
  for (const p of dp.underlay.ports) out.push(portStats(p, { interface: ul, role: 'underlay', vni: null, vlan: null, up: linkUp('afpacket', ul) }));
  return out;
}

/** Counters of earlier data planes (before reloads): networks by VNI, stages by name, drops by key. */
export type CarriedStats = Pick<StatsSnapshot, 'networks' | 'stages' | 'drops'>;

export function statsSnapshot(dp: Dataplane, startedAt: number, base: CarriedStats | null = null): StatsSnapshot {
  const perDomain = new Int32Array(dp.domains.count);
  for (const e of dp.table.dump()) perDomain[e.domain]++;
  const networks: NetworkStats[] = dp.cfg.networks.map((n) => {
    const d = dp.domains.domainOfVni(n.vni);
    return {
      vni: n.vni, name: n.name ?? null, type: n.type, remotes: n.remotes,
      flooded: dp.bridge.counter(d, 'flooded'), unicast: dp.bridge.counter(d, 'unicast'),
      learned: dp.table.counter(d, 'learned'), moved: dp.table.counter(d, 'moved'), aged: dp.table.counter(d, 'aged'),
      dropped: dp.bridge.counter(d, 'dropped'), fdbEntries: perDomain[d],
    };
  });
  const meter = dp.meter.snapshot();
  const drops: Record<string, number> = {};
  const add = (k: string, v: number): void => { if (v > 0) drops[k] = (drops[k] ?? 0) + v; };
  const ports = portsSnapshot(dp);
  // One loop: every stage and every port counts its drops by registry code (src/batch/drop-reasons.ts).
  const sources = [
    ...dp.stages().map((st) => ({ name: st.name, drops: st.counters.drops })),
    ...[...dp.devices.map((d) => d.port), ...dp.underlay.ports].map((p) => ({ name: 'port', drops: p.counters.drops })),
  ];
  for (const src of sources) for (let c = 1; c < DROP_CODES; c++) add(`${src.name}/${DROP_REASONS[c - 1]}`, src.drops[c]);
  const stages = meter.stages.map((s) => ({
    stage: s.name, batches: s.batches, packets: s.frames, seconds: s.ns / 1e9, sampledSeconds: s.sampledNs / 1e9, sampledPackets: s.sampledFrames,
  }));
  if (base !== null) {
    for (const n of networks) {
      const b = base.networks.find((x) => x.vni === n.vni);
      if (!b) continue;
      n.flooded += b.flooded; n.unicast += b.unicast; n.learned += b.learned; n.moved += b.moved; n.aged += b.aged; n.dropped += b.dropped;
    }
    for (const st of stages) {
      const b = base.stages.find((x) => x.stage === st.stage);
      if (b) {
        st.batches += b.batches; st.packets += b.packets; st.seconds += b.seconds;
        st.sampledSeconds += b.sampledSeconds ?? 0; st.sampledPackets += b.sampledPackets ?? 0;
      }
    }
    for (const [k, v] of Object.entries(base.drops)) add(k, v);
  }
  return { uptimeSeconds: (Date.now() - startedAt) / 1000, ports, networks, stages, drops, offload: { ...dp.cfg.offload }, fdbCapacity: dp.table.capacity };
}

/** What a reload carries: counters of networks that still exist keep counting from where they were. */
export function carry(s: StatsSnapshot): CarriedStats {
  // Port drops stay with the ports (kept ports keep counting), so they are not carried.
  const drops = Object.fromEntries(Object.entries(s.drops).filter(([k]) => !k.startsWith('port/')));
  return { networks: s.networks, stages: s.stages, drops };
}

/** The FDB as `fdb show` entries: a sorted snapshot taken now, formatted one entry at a time as the reply is sent. */
export function fdbEntryStream(dp: Dataplane, vni?: number): Iterable<FdbEntryJson> {
  const dom = vni === undefined ? undefined : dp.domainOf(vni);
  const now = dp.bridge.now;
  const names = new Map(dp.devices.map((d) => [d.port.index, displayName(d)]));
  // A reload replaces the data plane but never changes this one's domains: reading them while streaming is safe.
  const domains = dp.domains;
  const snap = MacSnapshot.of(dp.table, dom);
  return {
    *[Symbol.iterator]() {
      for (const e of snap) {
        yield {
          vni: domains.vni[e.domain],
          vlan: null,
          mac: formatMac(e.macHi, e.macLo),
          port: e.remote ? null : names.get(e.out) ?? `port${e.out}`,
          remote: e.remote ? domains.remoteIp(e.out) : null,
          static: e.static,
          ageSeconds: e.static ? 0 : Math.max(0, (now - e.stamp) | 0) / TICKS_PER_SECOND,
        };
      }
    },
  };
}

export function fdbEntries(dp: Dataplane, vni?: number): FdbEntryJson[] {
  return [...fdbEntryStream(dp, vni)];
}

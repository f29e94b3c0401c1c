/**
 * Replay a capture through decap + the learning bridge and return the final
 * MAC table (what `vtepd learn` prints). Capture timestamps drive time, so the
 * same file gives the same table on every run. Domains, ports and remotes are
 * created as they appear (autoCreate): each VNI is a domain, each VLAN of plain
 * frames is a domain (VLAN 0 = untagged), every frame enters on one port.
 */
import { PacketBatch } from '../batch/packet-batch.js';
import { openCapture } from '../capture/index.js';
import { DecapStage } from '../tunnel/decap.js';
import { MacTable, TICKS_PER_SECOND, type FullPolicy } from './mac-table.js';
import { BridgeDomains } from './bridge-domain.js';
import { BridgeStage } from './bridge-stage.js';
import { formatMac } from './mac-text.js';
import { TABLE_COUNTERS, BRIDGE_COUNTERS, BRIDGE_DROPS } from './counters.js';

export interface LearnReplayOptions {
  ageingSeconds?: number;
  vxlanPorts?: number[];
  genevePorts?: number[];
  capacity?: number;
  full?: FullPolicy;
  perPortLimit?: number;
  perRemoteLimit?: number;
  batchSize?: number;
  /** Name of the port every frame enters on. */
  portName?: string;
}

export interface LearnedEntry {
  vni: number | null;
  vlan: number | null;
  mac: string;
  remote: string | null;
  port: string | null;
  static: boolean;
  ageSeconds: number;
  frozen: boolean;
}

export interface LearnReplayResult {
  entries: LearnedEntry[];
  frames: number;
  /** Summed over domains: table counters, bridge counters, drops by reason (bridge and decap). */
  totals: Record<string, number>;
}

export function learnReplay(path: string, o: LearnReplayOptions = {}): LearnReplayResult {
  const table = new MacTable({
    capacity: o.capacity ?? 1 << 20,
    ageingSeconds: o.ageingSeconds ?? 300,
    full: o.full,
    perPortLimit: o.perPortLimit,
    perRemoteLimit: o.perRemoteLimit,
  });
  const domains = new BridgeDomains({ table, autoCreate: true });
  domains.portNames[0] = o.portName ?? 'pcap0';
  const bridge = new BridgeStage({ table, domains });
  const decap = new DecapStage({ vxlanPorts: o.vxlanPorts, genevePorts: o.genevePorts, keepOther: true });
  const batch = new PacketBatch({ capacity: o.batchSize ?? 256, dataRoom: 9216 });
  const reader = openCapture(path);
  let frames = 0;
  try {
    for (;;) {
      batch.clear();
      const got = reader.readBatch(batch, 0);
      if (got === 0) break;
      frames += got;
      decap.process(batch);
      bridge.process(batch);
    }
  } finally {
    reader.close();
  }
  const now = bridge.now;
  table.ageAll(now);
  const entries: LearnedEntry[] = table.dump().map((e) => ({
    vni: domains.vni[e.domain] >= 0 ? domains.vni[e.domain] : null,
    vlan: domains.vlan[e.domain] >= 0 ? domains.vlan[e.domain] : null,
    mac: formatMac(e.macHi, e.macLo),
    remote: e.remote ? domains.remoteIp(e.out) : null,
    port: e.remote ? null : domains.portName(e.out),
    static: e.static,
    ageSeconds: e.static ? 0 : Math.max(0, (now - e.stamp) | 0) / TICKS_PER_SECOND,
    frozen: e.frozen,
  }));
  // VNI domains first (by VNI), then plain VLAN domains (by VLAN), then MAC.
  const rank = (e: LearnedEntry): number => (e.vni !== null ? e.vni : 0x1000000 + (e.vlan ?? 0));
  entries.sort((a, b) => rank(a) - rank(b) || (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
  const totals: Record<string, number> = { frames, oversize: reader.oversize };
  for (let d = 0; d < domains.count; d++) {
    for (const c of TABLE_COUNTERS) totals[c] = (totals[c] ?? 0) + table.counter(d, c);
    for (const c of BRIDGE_COUNTERS) totals[c] = (totals[c] ?? 0) + bridge.counter(d, c);
    for (const r of BRIDGE_DROPS) totals[`drop-${r}`] = (totals[`drop-${r}`] ?? 0) + bridge.dropCount(d, r);
  }
  for (const r of BRIDGE_DROPS) totals[`drop-${r}`] += bridge.dropCount(-1, r);
  for (const [name, n] of Object.entries(decap.counters.snapshot())) if (name.startsWith('drop-')) totals[`decap-${name}`] = n;
  return { entries, frames, totals };
}

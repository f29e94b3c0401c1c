/**
 * EVPN type-2 routes installed into the data plane per second, 100k MACs,
 * vtepd's side alone (no BGP speaker: gobgpd's own ingestion is slower, see
 * `npm run bench:evpn` for the end-to-end figure).
 *
 * Method: 100k type-2 routes (distinct MACs, one remote VTEP, RT/VNI/encap of
 * the network) are encoded as GoBGP API paths and packed into
 * WatchEventResponse messages of 1000 paths, as bytes, the way gobgpd's watch
 * stream delivers them. Timed: protobuf decode of each message (what grpc-js
 * does on arrival), the route codec (decodePath), the installer's checks and
 * the FDB install (a static entry in a real Dataplane's MAC table, the remote
 * VTEP joined to the network on the first route). Then the same for 100k
 * withdrawals. Process CPU time (process.cpuUsage), wall beside it. The table
 * is checked to hold every MAC afterwards, and none after the withdrawals.
 * Needs the Debian GoBGP .proto files (skipped without them).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { BenchFigure } from './run.js';
import { DEFAULT_GOBGP_PROTO_DIR, parseTyped } from '../src/config/evpn-config.js';
import { validateConfig } from '../src/config/config-load.js';
import { decodePath, encodePath, type ApiPath } from '../src/evpn/codec.js';
import { EvpnCounters } from '../src/evpn/counters.js';
import { Installer } from '../src/evpn/installer.js';
import { loadGobgpProto } from '../src/evpn/proto.js';
import { resolveSettings } from '../src/evpn/settings.js';
import type { EvpnRoute } from '../src/evpn/route.js';
import { Dataplane } from '../src/pipeline/dataplane.js';
import type { Port } from '../src/ports/port.js';

const N = 100_000;
const PER_MESSAGE = 1000;

export default async function run(): Promise<BenchFigure[]> {
  if (!existsSync(join(DEFAULT_GOBGP_PROTO_DIR, 'gobgp.proto'))) {
    console.log('  skipped: GoBGP .proto files missing (golang-github-osrg-gobgp-dev)');
    return [];
  }
  const p = loadGobgpProto(DEFAULT_GOBGP_PROTO_DIR);
  const cfg = validateConfig({
    underlay: { interface: 'ul0', address: '192.0.2.1', transport: 'udp' },
    networks: [{ vni: 100, type: 'vxlan' }],
    fdb: { maxEntries: 4 * N },
    'control-plane': 'evpn',
  });
  // A real Dataplane without ports: only its FDB, bridge domains and encap stages are used here.
  const noPort = null as unknown as Port;
  const dp = new Dataplane({ cfg, devices: [], underlay: { key: '', ports: [], txFor: () => noPort, guards: [] }, remoteMacs: new Map(), localMac: '02:00:00:00:00:01' });
  const settings = resolveSettings(cfg, { asn: 65000, routerId: '192.0.2.1' });
  const counters = new EvpnCounters();
  const inst = new Installer({
    counters, log: pino({ level: 'silent' }), dp: () => dp, settings: () => settings, underlay: '192.0.2.1',
    localRoute: () => null, newVtep: () => undefined,
  });
  const hex = (x: number): string => x.toString(16).padStart(2, '0');
  const W = p.root.lookupType('apipb.WatchEventResponse');
  const messages = (withdraw: boolean): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < N; i += PER_MESSAGE) {
      const paths: Record<string, unknown>[] = [];
      for (let k = i; k < i + PER_MESSAGE; k++) {
        const r: EvpnRoute = {
          kind: 'mac-ip', rd: parseTyped('192.0.2.2:1'), ethTag: 0, mac: `02:0b:00:${hex((k >> 16) & 255)}:${hex((k >> 8) & 255)}:${hex(k & 255)}`, ip: '',
          label: 100, nextHop: '192.0.2.2', rts: ['65000:100'], encaps: [8], seq: 0, sticky: false, pmsiType: -1,
        };
        paths.push({ ...encodePath(p, r, withdraw), family: { afi: 25, safi: 70 }, neighbor_ip: '192.0.2.2' });
      }
      out.push(W.encode(W.fromObject({ table: { paths } })).finish());
    }
    return out;
  };
  const pass = (msgs: Uint8Array[]): { cpu: number; wall: number } => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const m of msgs) {
      const ev = W.toObject(W.decode(m), { longs: Number, enums: String, defaults: true, oneofs: true }) as { table: { paths: ApiPath[] } };
      for (const path of ev.table.paths) inst.handle(decodePath(p, path));
    }
    const c = process.cpuUsage(c0);
    return { cpu: (c.user + c.system) / 1e6, wall: Number(process.hrtime.bigint() - t0) / 1e9 };
  };
  const add = pass(messages(false));
  const inTable = dp.table.dump().filter((e) => e.remote && e.static).length;
  const del = pass(messages(true));
  const left = dp.table.dump().filter((e) => e.remote).length;
  if (inTable !== N || left !== 0 || counters.get('mac-installed') !== N) throw new Error(`evpn-install: ${inTable} installed, ${left} left after withdrawal, counters ${JSON.stringify(counters.values)}`);
  const fig = (name: string, r: { cpu: number; wall: number }): BenchFigure => ({ name, value: Math.round(N / r.cpu), unit: 'routes/s', note: `${((r.cpu * 1e6) / N).toFixed(1)} us CPU per route, wall ${r.wall.toFixed(2)} s for ${N}` });
  const figs = [fig('type-2 install, 100k MACs (watch message decode + codec + checks + FDB)', add), fig('type-2 withdrawal, 100k MACs', del)];
  for (const f of figs) console.log(`  ${f.name}: ${f.value.toLocaleString('en')} ${f.unit} (${f.note})`);
  console.log(`  table held ${inTable} EVPN entries after the installs, ${left} after the withdrawals`);
  return figs;
}

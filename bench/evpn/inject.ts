/**
 * Injector for the EVPN benchmark, run inside a hypervisor namespace next to
 * its gobgpd (`ip netns exec NS node inject.js N NEXTHOP VNI [withdraw]`):
 * N type-2 routes (distinct MACs, RD NEXTHOP:1, RT 65000:VNI, VXLAN) through
 * one AddPathStream call. Prints {n, seconds}.
 */
import { DEFAULT_GOBGP_PROTO_DIR, parseTyped } from '../../src/config/evpn-config.js';
import { encodePath } from '../../src/evpn/codec.js';
import { GobgpClient } from '../../src/evpn/gobgp-client.js';
import { loadGobgpProto } from '../../src/evpn/proto.js';
import type { EvpnRoute } from '../../src/evpn/route.js';

const [nText, nextHop, vniText, mode] = process.argv.slice(2);
const n = Number(nText);
const vni = Number(vniText);
const p = loadGobgpProto(DEFAULT_GOBGP_PROTO_DIR);
const c = new GobgpClient('127.0.0.1:50051', p);
const hex = (x: number): string => x.toString(16).padStart(2, '0');
const paths: Record<string, unknown>[] = [];
for (let i = 0; i < n; i++) {
  const r: EvpnRoute = {
    kind: 'mac-ip', rd: parseTyped(`${nextHop}:1`), ethTag: 0, mac: `02:0b:00:${hex((i >> 16) & 255)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`, ip: '',
    label: vni, nextHop, rts: [`65000:${vni}`], encaps: [8], seq: 0, sticky: false, pmsiType: -1,
  };
  paths.push(encodePath(p, r, mode === 'withdraw'));
}
await c.waitReady(5000);
const t0 = process.hrtime.bigint();
await c.addPathStream(paths);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
c.close();
process.stdout.write(JSON.stringify({ n, seconds }) + '\n');

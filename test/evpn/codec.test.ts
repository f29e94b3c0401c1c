/**
 * Route codec: EvpnRoute ↔ GoBGP API Path. Round trips in memory, the
 * reasons malformed paths are refused with, RD/RT text forms and FRR-style
 * auto-derivation, MAC mobility order. Then against an independent
 * implementation: a gobgpd on loopback (no BGP listener) takes our encoded
 * paths through AddPath and its own decoder prints them (`gobgp global rib -j`);
 * paths that gobgp's CLI built are decoded by ours from a WatchEvent stream.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GOBGP_PROTO_DIR, autoRd, autoRt, formatTyped, parseTyped } from '../../src/config/evpn-config.js';
import { loadGobgpProto, GobgpProtoError } from '../../src/evpn/proto.js';
import { decodePath, encodePath, type ApiPath } from '../../src/evpn/codec.js';
import { compareIp, mobilityOrder, routeKey, type EvpnRoute } from '../../src/evpn/route.js';
import { GobgpClient } from '../../src/evpn/gobgp-client.js';

const noProto = existsSync(join(DEFAULT_GOBGP_PROTO_DIR, 'gobgp.proto')) ? false : 'GoBGP .proto files missing (golang-github-osrg-gobgp-dev)';

const mac2 = (o: Partial<EvpnRoute> = {}): EvpnRoute => ({
  kind: 'mac-ip', rd: parseTyped('192.0.2.1:7'), ethTag: 0, mac: '02:00:00:00:01:01', ip: '', label: 100, nextHop: '192.0.2.1',
  rts: ['65000:100'], encaps: [8], seq: 0, sticky: false, pmsiType: -1, ...o,
});
const imet = (o: Partial<EvpnRoute> = {}): EvpnRoute => ({
  kind: 'imet', rd: parseTyped('192.0.2.1:7'), ethTag: 0, mac: '', ip: '192.0.2.1', label: 100, nextHop: '192.0.2.1',
  rts: ['65000:100'], encaps: [8], seq: 0, sticky: false, pmsiType: 6, ...o,
});

t.test('RD / RT text and auto-derivation', async (t) => {
  t.same(parseTyped('65000:100'), { type: 0, admin: 65000, assigned: 100 }, '2-octet ASN');
  t.same(parseTyped('65000:4294967295'), { type: 0, admin: 65000, assigned: 4294967295 }, '2-octet ASN, 32-bit number');
  t.same(parseTyped('192.0.2.1:5'), { type: 1, admin: '192.0.2.1', assigned: 5 }, 'IPv4');
  t.same(parseTyped('4200000000:5'), { type: 2, admin: 4200000000, assigned: 5 }, '4-octet ASN');
  for (const bad of ['65000', ':5', '192.0.2.1:65536', '4200000000:65536', '4294967296:1', 'x:1', '1:y', '65000:4294967296']) {
    t.throws(() => parseTyped(bad, 'rt'), RangeError, `refused: "${bad}"`);
  }
  t.equal(formatTyped(parseTyped('192.0.2.1:5')), '192.0.2.1:5');
  t.equal(autoRd('192.0.2.3', 2), '192.0.2.3:2', 'auto RD: router-id:index (FRR)');
  t.equal(autoRt(65000, 100), '65000:100', 'auto RT: ASN:VNI');
  t.equal(autoRt(4200000000, 5000), `${4200000000 & 0xffff}:5000`, 'auto RT with a 4-octet ASN: its low 16 bits (FRR, RFC 8365 §5.1.2.1)');
});

t.test('MAC mobility order and route keys', async (t) => {
  t.equal(mobilityOrder(2, '192.0.2.9', 1, '192.0.2.1'), 1, 'higher sequence wins');
  t.equal(mobilityOrder(1, '192.0.2.9', 1, '192.0.2.10'), 1, 'tie: lower address wins (numerically: .9 < .10)');
  t.equal(mobilityOrder(1, '192.0.2.10', 1, '192.0.2.9'), -1);
  t.equal(compareIp('2001:db8::2', '2001:db8::10'), -1, 'IPv6 numeric order');
  t.not(routeKey(mac2()), routeKey(mac2({ rd: parseTyped('192.0.2.2:7') })), 'the RD is part of the key');
  t.equal(routeKey(mac2()), routeKey(mac2({ seq: 5, nextHop: '192.0.2.9' })), 'attributes are not');
});

t.test('round trips through the API messages', { skip: noProto }, async (t) => {
  const p = loadGobgpProto(DEFAULT_GOBGP_PROTO_DIR);
  const cases: EvpnRoute[] = [
    mac2(),
    mac2({ seq: 7, sticky: true, rts: ['65000:100', '192.0.2.1:9', '4200000000:3'], encaps: [8, 19], ip: '10.10.0.1', ethTag: 5 }),
    mac2({ rd: parseTyped('65000:4000000000'), nextHop: '2001:db8::1', label: 16777215, encaps: [9], seq: 4294967295 }),
    imet(),
    imet({ ip: '2001:db8::1', nextHop: '2001:db8::1', rd: parseTyped('4200000000:1'), encaps: [19] }),
  ];
  for (const r of cases) {
    const d = decodePath(p, encodePath(p, r) as ApiPath);
    t.ok(d.ok, `decoded: ${routeKey(r)}`);
    if (d.ok) t.same(d.route, r, 'same route back');
    const w = decodePath(p, encodePath(p, r, true) as ApiPath);
    t.ok(w.ok && w.withdraw, 'withdrawal decodes');
  }
  t.equal((decodePath(p, encodePath(p, mac2()) as ApiPath) as { local: boolean }).local, true, 'no neighbor: our own path');
  t.equal((decodePath(p, { ...encodePath(p, mac2()), neighbor_ip: '192.0.2.2' } as ApiPath) as { local: boolean }).local, false, 'a neighbor: a remote path');
});

t.test('malformed paths are refused with a reason, never thrown', { skip: noProto }, async (t) => {
  const p = loadGobgpProto(DEFAULT_GOBGP_PROTO_DIR);
  const good = encodePath(p, mac2()) as ApiPath;
  const reason = (x: ApiPath): string => { const d = decodePath(p, { neighbor_ip: '192.0.2.2', ...x }); return d.ok ? 'ok' : d.reason; };
  t.equal(reason({ ...good, nlri: { type_url: 'type.googleapis.com/apipb.EVPNMACIPAdvertisementRoute', value: Uint8Array.from([0xff, 0xff, 0xff]) } }), 'undecodable', 'garbage NLRI bytes');
  t.equal(reason({ ...good, nlri: { type_url: 'type.googleapis.com/apipb.NoSuchThing', value: new Uint8Array(0) } }), 'undecodable', 'unknown NLRI type');
  t.equal(reason({ ...good, nlri: null }), 'undecodable', 'no NLRI at all');
  t.equal(reason({ ...good, family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' } }), 'not-evpn', 'IPv4 unicast family');
  t.equal(reason({ ...good, family: null }), 'not-evpn', 'no family');
  t.equal(reason({ ...good, nlri: p.pack('EVPNIPPrefixRoute', { rd: p.pack('RouteDistinguisherIPAddress', { admin: '192.0.2.1', assigned: 1 }), ip_prefix: '10.0.0.0', ip_prefix_len: 24, label: 100 }) }), 'route-type', 'type 5');
  t.equal(reason(encodePath(p, mac2({ mac: '01:00:5e:00:00:01' })) as ApiPath), 'bad-mac', 'multicast MAC');
  t.equal(reason(encodePath(p, mac2({ mac: '00:00:00:00:00:00' })) as ApiPath), 'bad-mac', 'zero MAC');
  t.equal(reason({ ...good, nlri: p.pack('EVPNMACIPAdvertisementRoute', { rd: p.pack('OriginAttribute', { origin: 0 }), mac_address: '02:00:00:00:00:01', labels: [1] }) }), 'bad-rd', 'an RD of the wrong type');
  t.equal(reason({ ...good, pattrs: (good.pattrs ?? []).slice(0, 2) }), 'no-next-hop', 'no MP_REACH next hop');
  t.equal(reason({ ...good, pattrs: [...(good.pattrs ?? []), { type_url: 'type.googleapis.com/apipb.Junk', value: new Uint8Array(3) }] }), 'undecodable', 'an undecodable attribute');
  t.equal(reason(encodePath(p, mac2({ label: 0x1000000 })) as ApiPath), 'ok', 'a label over 24 bits decodes (the installer refuses it as vni-out-of-range)');
  t.equal(reason({ ...good, nlri: p.pack('EVPNMACIPAdvertisementRoute', { rd: p.pack('RouteDistinguisherIPAddress', { admin: '192.0.2.1', assigned: 1 }), mac_address: '02:00:00:00:00:01', labels: [] }) }), 'no-label', 'type-2 without a label');
  t.throws(() => loadGobgpProto('/nonexistent/gobgp-api'), GobgpProtoError, 'missing .proto files: a clear error');
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('against gobgpd: our paths in its decoder, its paths in ours', { skip: noProto || (existsSync('/usr/bin/gobgpd') ? false : 'gobgpd missing') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-codec-'));
  const port = await freePort();
  // No BGP listener (port -1): the API on loopback only.
  writeFileSync(join(dir, 'g.toml'), '[global.config]\n  as = 65000\n  router-id = "192.0.2.9"\n  port = -1\n');
  const g = spawn('/usr/bin/gobgpd', ['-f', join(dir, 'g.toml'), '--api-hosts', `127.0.0.1:${port}`, '--pprof-disable', '-l', 'warn'], { stdio: 'ignore' });
  const p = loadGobgpProto(DEFAULT_GOBGP_PROTO_DIR);
  const c = new GobgpClient(`127.0.0.1:${port}`, p);
  t.teardown(() => { c.close(); g.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  await c.waitReady(5000);
  for (let i = 0; i < 50 && !((await c.getGlobal().catch(() => ({ asn: 0 }))).asn > 0); i++) await new Promise((r) => setTimeout(r, 100));
  const cli = (args: string[]): string => execFileSync('/usr/bin/gobgp', ['-p', String(port), ...args], { encoding: 'utf8' });

  await c.addPath(encodePath(p, mac2({ seq: 3, rts: ['65000:100', '192.0.2.1:9'], encaps: [8] })));
  await c.addPath(encodePath(p, imet({ rd: parseTyped('65000:7') })));
  const rib = JSON.parse(cli(['global', 'rib', '-a', 'evpn', '-j'])) as Record<string, { nlri: { type: number; value: Record<string, unknown> }; attrs: Record<string, unknown>[] }[]>;
  const paths = Object.values(rib).flat();
  const t2 = paths.find((x) => x.nlri.type === 2)!;
  t.same(t2.nlri.value, { rd: { type: 1, admin: '192.0.2.1', assigned: 7 }, esi: 'single-homed', etag: 0, mac: '02:00:00:00:01:01', ip: '<nil>', labels: [100] }, "gobgp decodes our type-2 NLRI: RD, MAC, VNI in the label field");
  const ext2 = t2.attrs.find((a) => a.type === 16)!.value as Record<string, unknown>[];
  t.same(ext2.find((e) => e.subtype === 2 && e.type === 0), { type: 0, subtype: 2, value: '65000:100' }, 'route target 65000:100 (2-octet AS)');
  t.same(ext2.find((e) => e.subtype === 2 && e.type === 1), { type: 1, subtype: 2, value: '192.0.2.1:9' }, 'route target 192.0.2.1:9 (IPv4)');
  t.same(ext2.find((e) => e.subtype === 12), { type: 3, subtype: 12, tunnel_type: 8 }, 'encapsulation community: VXLAN (8)');
  t.match(JSON.stringify(ext2.find((e) => e.type === 6)), /"sequence":3/, 'MAC mobility community with sequence 3');
  t.equal((t2.attrs.find((a) => a.type === 14) as { nexthop?: string }).nexthop, '192.0.2.1', 'MP_REACH next hop');
  const t3 = paths.find((x) => x.nlri.type === 3)!;
  t.same(t3.nlri.value, { rd: { type: 0, admin: 65000, assigned: 7 }, etag: 0, ip: '192.0.2.1' }, 'our type-3 NLRI');
  t.match(t3.attrs.find((a) => a.type === 22), { 'tunnel-type': 6, label: 100, 'tunnel-id': '192.0.2.1' }, 'PMSI tunnel: ingress replication, label = VNI, our address');

  // The other way: gobgp's CLI encodes, our codec decodes what WatchEvent hands over.
  const got: ApiPath[] = [];
  c.watch({ paths: (ps) => got.push(...ps), peer: () => undefined, end: () => undefined });
  await new Promise((r) => setTimeout(r, 300));
  cli(['global', 'rib', '-a', 'evpn', 'add', 'macadv', '02:00:00:00:0c:01', '10.10.0.12', 'etag', '0', 'label', '5000', 'rd', '65000:12', 'rt', '65000:5000', 'encap', 'geneve', 'nexthop', '192.0.2.12']);
  for (let i = 0; i < 50 && !got.some((x) => JSON.stringify(x).includes('0c:01')); i++) await new Promise((r) => setTimeout(r, 50));
  const mine = got.map((x) => decodePath(p, x)).find((d) => d.ok && d.route.mac === '02:00:00:00:0c:01');
  t.ok(mine?.ok, 'decoded the path gobgp built');
  if (mine?.ok) {
    t.same({ ...mine.route, rd: formatTyped(mine.route.rd) }, {
      kind: 'mac-ip', rd: '65000:12', ethTag: 0, mac: '02:00:00:00:0c:01', ip: '10.10.0.12', label: 5000, nextHop: '192.0.2.12',
      rts: ['65000:5000'], encaps: [19], seq: 0, sticky: false, pmsiType: -1,
    }, 'every field as gobgp was told (GENEVE = 19)');
  }
});

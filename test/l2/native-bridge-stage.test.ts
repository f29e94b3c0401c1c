/**
 * NativeBridgeStage against BridgeStage, differentially: two MAC tables with the
 * same seed and equal bridge domains, one TypeScript stage and one native stage,
 * fed identical batches of random traffic (local ports with and without VLAN
 * tags, decapped frames from known and unknown remotes over IPv4 and IPv6,
 * broadcast/multicast, invalid sources, runts, frames already dropped, frames
 * whose offset lies outside their slot, moves, statics, per-port/per-remote
 * limits, a full table with 'stop' and 'evict-oldest', dampening, ageing with
 * time running forwards and backwards, autoCreate on and off, fixed `now`,
 * a clock and capture timestamps). After every batch the per-frame decisions,
 * the batch metadata, the table words and every counter must be identical.
 */
import t, { type Test } from 'tap';
import { PacketBatch, PacketFlag } from '../../src/batch/packet-batch.js';
import { MacTable, localPlace, remotePlace, type MacTableOptions, type MacFrozenEvent } from '../../src/l2/mac-table.js';
import { BridgeDomains, parseAddrWords } from '../../src/l2/bridge-domain.js';
import { BridgeStage, Action } from '../../src/l2/bridge-stage.js';
import { NativeBridgeStage } from '../../src/l2/native-bridge-stage.js';
import { Replicator } from '../../src/l2/replicate.js';
import { Drop } from '../../src/l2/counters.js';
import { loadNative } from '../../src/native/addon.js';

const SEED: [number, number] = [0x1234567, -0x789abcd];

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

const REMOTES_V4 = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'];
const REMOTES_V6 = ['2001:db8::2', '2001:db8::3'];
const UNKNOWN_REMOTES = ['10.9.9.9', '2001:db8::99'];

interface Scenario {
  name: string;
  table: Partial<MacTableOptions>;
  autoCreate?: boolean;
  maxDomains?: number;
  maxRemotes?: number;
  /** Distinct source MACs (small = many moves and refreshes). */
  macs: number;
  batches: number;
  capacity?: number;
  /** 'now': process(b, now); 'clock': a clock option; 'ts': capture timestamps. */
  time: 'now' | 'clock' | 'ts';
  ageSlots?: number;
  statics?: boolean;
  /** Least share of in-domain frames C decides alone (limits and a full table keep sending new MACs to TS). */
  minFast?: number;
}

interface Side {
  table: MacTable;
  domains: BridgeDomains;
  stage: BridgeStage;
  events: MacFrozenEvent[];
}

function configure(domains: BridgeDomains, table: MacTable): void {
  if (domains.autoCreate) return;
  const a = domains.addVniDomain(100);
  domains.addPort(a, 1, 0);
  domains.addPort(a, 2, 0);
  domains.addPort(a, 3, 30);
  for (const ip of [REMOTES_V4[0], REMOTES_V4[1], REMOTES_V6[0]]) domains.addRemoteIp(a, ip);
  const b = domains.addVniDomain(200, { ageingSeconds: 3 });
  domains.addPort(b, 3, 40);
  domains.addPort(b, 4, 0);
  for (const ip of [REMOTES_V4[1], REMOTES_V4[2], REMOTES_V6[1]]) domains.addRemoteIp(b, ip);
  const c = domains.addVniDomain(300);
  domains.addPort(c, 5, 0); // one port, no remotes: floods from it have no target
  const d = domains.addVlanDomain(50);
  domains.addPort(d, 6, 50);
  domains.addPort(d, 1, 50);
  table.setAgeing(a, 5);
}

function side(s: Scenario, clock: () => number): Side {
  const events: MacFrozenEvent[] = [];
  const table = new MacTable({ capacity: 4096, seed: SEED, maxDomains: s.maxDomains ?? 16, onEvent: (e) => events.push(e), ...s.table });
  const domains = new BridgeDomains({ table, autoCreate: s.autoCreate ?? false, maxDomains: s.maxDomains ?? 16, maxRemotes: s.maxRemotes });
  configure(domains, table);
  const opts = { table, domains, ageSlotsPerBatch: s.ageSlots ?? 0, clock: s.time === 'clock' ? clock : undefined };
  return { table, domains, stage: new BridgeStage(opts), events };
}

/**
 * Write one random frame into both batches (same bytes, same metadata). A source
 * MAC mostly comes from its own place (drawn from the MAC number, so learning
 * then mostly refreshes), one frame in 8 from a random place (a move).
 */
function addFrame(r: () => number, bs: PacketBatch[], macs: number, tsSec: number): void {
  const buf = new Uint8Array(80);
  // Destination: known-ish unicast, broadcast or multicast.
  const dstKind = r() % 10;
  if (dstKind === 0) buf.fill(0xff, 0, 6);
  else if (dstKind === 1) buf.set([0x01, 0x00, 0x5e, 0, 0, r() & 0xff], 0);
  else if (dstKind === 2) buf.set([0x33, 0x33, 0, 0, 0, r() & 0xff], 0);
  else {
    const m = r() % macs;
    buf.set([0x02, 0, 0, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff], 0);
  }
  // Source: mostly from the pool, sometimes invalid.
  const srcKind = r() % 50;
  const m = r() % macs;
  if (srcKind === 0) buf.set([0x01, 0, 0x5e, 0, 0, 1], 6); // multicast source
  else if (srcKind === 1) buf.fill(0, 6, 12); // all-zero source
  else buf.set([0x02, 0, 0, (m >> 16) & 0xff, (m >> 8) & 0xff, m & 0xff], 6);
  const p = r() % 8 === 0 ? r : xorshift(m * 2654435761 + 1);
  const decapped = p() % 10 < 4;
  let len = 64;
  let port = 0;
  if (!decapped) {
    port = p() % 8; // 0 and 7 are members of nothing (unless autoCreate)
    const tag = p() % 4;
    if (tag === 0) {
      const vlans = [30, 40, 50, 0, 77];
      buf.set([0x81, 0x00], 12);
      const v = vlans[p() % vlans.length];
      buf[14] = (r() & 0xe0) | (v >> 8);
      buf[15] = v & 0xff;
      buf.set([0x08, 0x00], 16);
    } else buf.set([0x08, 0x00], 12);
    if (r() % 40 === 0) len = tag === 0 ? 14 + (r() % 4) : r() % 14; // runts
  } else buf.set([0x08, 0x00], 12);
  const vnis = [100, 100, 200, 200, 300, 999];
  const vni = vnis[p() % vnis.length];
  const rk = p() % 20;
  const ip = rk === 0 ? UNKNOWN_REMOTES[p() % 2] : rk < 4 ? REMOTES_V6[p() % 2] : REMOTES_V4[p() % 4];
  const [w0, w1, w2, w3, v6] = parseAddrWords(ip);
  const preDropped = r() % 60 === 0;
  const outside = r() % 150 === 0;
  for (const b of bs) {
    const i = b.append(buf, 0, len, len, Math.floor(tsSec), Math.round((tsSec - Math.floor(tsSec)) * 1e9), port);
    if (decapped) {
      b.flags[i] |= PacketFlag.DECAPPED | (v6 ? PacketFlag.REMOTE_V6 : 0);
      b.vni[i] = vni;
      b.remoteAddr.set([w0, w1, w2, w3], i << 2);
    }
    if (preDropped) b.drop[i] = 9;
    if (outside) b.offset[i] = i === 0 ? b.slotSize : b.offset[i] - b.slotSize; // the neighbour's slot (hostile metadata)
  }
}

function same(t: Test, a: ArrayLike<number>, b: ArrayLike<number>, n: number, what: string): boolean {
  for (let k = 0; k < n; k++) {
    if (a[k] !== b[k] && !(Number.isNaN(a[k]) && Number.isNaN(b[k]))) {
      t.fail(`${what}[${k}]: ts ${a[k]} native ${b[k]}`);
      return false;
    }
  }
  return true;
}

function compare(t: Test, ts: Side, nat: Side, bt: PacketBatch, bn: PacketBatch, label: string): boolean {
  const n = bt.count;
  const checks: [ArrayLike<number>, ArrayLike<number>, number, string][] = [
    [ts.stage.action, nat.stage.action, n, 'action'],
    [ts.stage.domainOf, nat.stage.domainOf, n, 'domainOf'],
    [ts.stage.srcPlace, nat.stage.srcPlace, n, 'srcPlace'],
    [ts.stage.tagLen, nat.stage.tagLen, n, 'tagLen'],
    [bt.drop, bn.drop, n, 'drop'],
    [bt.outPort, bn.outPort, n, 'outPort'],
    [bt.flags, bn.flags, n, 'flags'],
    [ts.table.words, nat.table.words, ts.table.words.length, 'words'],
    [ts.table.counters, nat.table.counters, ts.table.counters.length, 'table counters'],
    [ts.table.portCount, nat.table.portCount, ts.table.portCount.length, 'portCount'],
    [ts.table.remoteCount, nat.table.remoteCount, ts.table.remoteCount.length, 'remoteCount'],
    [ts.stage.domainCounters, nat.stage.domainCounters, ts.stage.domainCounters.length, 'stage counters'],
    [ts.stage.domainDrops, nat.stage.domainDrops, ts.stage.domainDrops.length, 'drops'],
    [ts.stage.dropsNoDomain, nat.stage.dropsNoDomain, ts.stage.dropsNoDomain.length, 'dropsNoDomain'],
  ];
  for (const [a, b, k, what] of checks) if (!same(t, a, b, k, `${label} ${what}`)) return false;
  const scalars: [unknown, unknown, string][] = [
    [ts.table.size, nat.table.size, 'size'], [ts.stage.now, nat.stage.now, 'now'],
    [ts.domains.count, nat.domains.count, 'domains'], [ts.domains.remoteCount, nat.domains.remoteCount, 'remotes'],
    [JSON.stringify(ts.events), JSON.stringify(nat.events), 'events'],
  ];
  for (const [a, b, what] of scalars) {
    if (a !== b) {
      t.fail(`${label} ${what}: ts ${a} native ${b}`);
      return false;
    }
  }
  return true;
}

function run(t: Test, s: Scenario, seed: number): NativeBridgeStage {
  const r = xorshift(seed);
  let clockNow = 1_000_000;
  const clock = () => clockNow;
  const ts = side(s, clock);
  const nat = side(s, clock);
  const native = new NativeBridgeStage({ table: nat.table, domains: nat.domains, ageSlotsPerBatch: s.ageSlots ?? 0, clock: s.time === 'clock' ? clock : undefined });
  nat.stage = native;
  const cap = s.capacity ?? 256;
  const bt = new PacketBatch({ capacity: cap, dataRoom: 128 });
  const bn = new PacketBatch({ capacity: cap, dataRoom: 128 });
  let sec = 1000;
  let ok = true;
  if (s.statics) {
    for (const side of [ts, nat]) {
      side.table.addStatic(0, 0x0200, 3, localPlace(2));
      side.table.addStatic(0, 0x0200, 4, remotePlace(0));
      side.table.addStatic(1, 0x0200, 5, localPlace(4));
    }
  }
  for (let k = 0; k < s.batches && ok; k++) {
    bt.clear();
    bn.clear();
    const n = 1 + (r() % cap);
    for (let i = 0; i < n; i++) {
      // Time mostly advances, sometimes by a lot (ageing), sometimes backwards (out-of-order capture).
      const step = r() % 100;
      sec += step < 90 ? 0.001 : step < 99 ? 0.02 : r() % 10 === 0 ? 6 : -0.05;
      addFrame(r, [bt, bn], s.macs, sec);
    }
    clockNow = sec;
    if (s.statics && k === s.batches >> 1) {
      for (const side of [ts, nat]) {
        side.table.addStatic(0, 0x0200, 6, localPlace(1), side.stage.now);
        side.table.addStatic(3, 0x0200, 7, localPlace(6), side.stage.now);
      }
    }
    const now = s.time === 'now' ? ((sec * 100) | 0) : undefined;
    ts.stage.process(bt, now);
    native.process(bn, now);
    ok = compare(t, ts, nat, bt, bn, `${s.name} batch ${k}`);
    if (ok && k % 7 === 3) {
      // The control side sees what C did: flushes and ageing in TS between batches.
      ts.table.flush({ port: 2 });
      nat.table.flush({ port: 2 });
      ts.table.ageStep(ts.stage.now, 500);
      nat.table.ageStep(nat.stage.now, 500);
      ok = compare(t, ts, nat, bt, bn, `${s.name} after flush ${k}`);
    }
  }
  let frames = 0;
  for (let d = 0; d < nat.domains.count; d++) frames += native.counter(d, 'in');
  t.ok(frames - native.slowFrames > frames * (s.minFast ?? 0.5), `${frames - native.slowFrames} of ${frames} frames in a domain decided in C alone`);
  if (ok) t.pass(`${s.name}: ${s.batches} batches identical (${native.slowFrames} frames learned in TS, ${native.slowClassified} classified in TS, ${native.nativeCalls} native calls)`);
  return native;
}

t.test('a clear error when the addon lacks the export', async (t) => {
  const a = loadNative() as unknown as Record<string, unknown>;
  const saved = a.fdbLearnLookupBatch;
  t.type(saved, 'function', 'this build has fdbLearnLookupBatch');
  delete a.fdbLearnLookupBatch;
  try {
    const table = new MacTable({ capacity: 16 });
    t.throws(() => new NativeBridgeStage({ table, domains: new BridgeDomains({ table }) }), /fdbLearnLookupBatch/);
  } finally {
    a.fdbLearnLookupBatch = saved;
  }
});

const SCENARIOS: Scenario[] = [
  { name: 'configured domains, capture timestamps', table: {}, macs: 200, batches: 120, time: 'ts', statics: true },
  { name: 'fixed now, ager running', table: { ageingSeconds: 4 }, macs: 400, batches: 120, time: 'now', ageSlots: 256, statics: true },
  { name: 'clock', table: {}, macs: 60, batches: 80, time: 'clock', capacity: 64 },
  { name: 'per-port and per-remote limits', table: { perPortLimit: 6, perRemoteLimit: 4 }, macs: 300, batches: 100, time: 'ts', minFast: 0.02 },
  { name: 'full table, stop', table: { capacity: 48 }, macs: 300, batches: 100, time: 'ts', statics: true, minFast: 0.05 },
  { name: 'full table, evict-oldest', table: { capacity: 48, full: 'evict-oldest' }, macs: 300, batches: 100, time: 'now', statics: true, minFast: 0.05 },
  { name: 'dampening', table: { flap: { maxMoves: 2, windowSeconds: 10, holdSeconds: 3, records: 64 } }, macs: 20, batches: 150, time: 'ts', statics: true },
  { name: 'autoCreate', table: {}, autoCreate: true, macs: 150, batches: 100, time: 'ts' },
  { name: 'autoCreate up to the maxima', table: {}, autoCreate: true, maxDomains: 3, maxRemotes: 3, macs: 150, batches: 100, time: 'now' },
  { name: 'batches larger than 256 (stage arrays grow)', table: {}, macs: 500, batches: 30, time: 'ts', capacity: 300 },
];

for (const [k, s] of SCENARIOS.entries()) {
  t.test(s.name, async (t) => {
    const native = run(t, s, 0x9e3779b9 + k * 7919);
    t.ok(native.slowFrames > 0, 'some frames took the TypeScript learning path');
  });
}

t.test('control maps that grow and membership added between batches reach C', async (t) => {
  const s: Scenario = { name: 'grow', table: {}, macs: 64, batches: 1, time: 'now', maxDomains: 256 };
  const ts = side(s, () => 0);
  const nat = side(s, () => 0);
  const native = new NativeBridgeStage({ table: nat.table, domains: nat.domains, ageSlotsPerBatch: 0 });
  nat.stage = native;
  const bt = new PacketBatch({ capacity: 256, dataRoom: 128 });
  const bn = new PacketBatch({ capacity: 256, dataRoom: 128 });
  const frame = (src: number, dst: number) => Uint8Array.of(2, 0, 0, 0, dst >> 8, dst & 255, 2, 0, 0, 0, src >> 8, src & 255, 8, 0, ...new Array(50).fill(0));
  let now = 100;
  const v0 = nat.domains.version;
  nat.domains.addVniDomain(100);
  nat.domains.addPort(0, 1, 0);
  nat.domains.addRemoteIp(0, REMOTES_V4[0]);
  t.equal(nat.domains.version, v0, 'repeating existing domains, ports and remotes changes no version');
  // 4 rounds of 40 new VNI domains (the VNI, port/VLAN, remote and address maps all outgrow their first 64 entries),
  // each followed by a batch to the new and old domains: C must see the new maps and flood lists.
  for (let round = 0; round < 4; round++) {
    for (const d of [ts.domains, nat.domains]) {
      for (let k = 0; k < 40; k++) {
        const j = round * 40 + k;
        const dom = d.addVniDomain(5000 + j);
        d.addPort(dom, 8 + (j % 100), 1 + (j >> 1));
        d.addRemoteIp(dom, `10.7.${j >> 8}.${j & 255}`);
        if (k % 3 === 0) d.addRemoteIp(0, `10.7.${j >> 8}.${j & 255}`); // a new member of an old domain
      }
    }
    t.ok(nat.domains.version > v0, `round ${round}: version moved (${nat.domains.version})`);
    for (const b of [bt, bn]) {
      b.clear();
      for (let k = 0; k < 240; k++) {
        const j = (k * 7 + round * 13) % ((round + 1) * 40);
        const src = (k % 60) + 1;
        const dst = k % 5 === 0 ? 0xffff : ((k * 3) % 60) + 1;
        if (k % 8 === 1) {
          b.append(frame(src + 0x200, 0xffff), 0, 64, 64, 0, 0, 1); // a flood in domain 0, which gains remotes every round
          continue;
        }
        const decapped = k % 2 === 0;
        const i = b.append(frame(src + (decapped ? 0x100 : 0), dst), 0, 64, 64, 0, 0, decapped ? 0 : 8 + (j % 100));
        if (decapped) {
          b.flags[i] |= PacketFlag.DECAPPED;
          b.vni[i] = 5000 + j;
          b.remoteAddr.set(parseAddrWords(`10.7.${j >> 8}.${j & 255}`).slice(0, 4) as number[], i << 2);
        } else {
          const vlan = 1 + (j >> 1);
          b.data.copyWithin(b.offset[i] + 16, b.offset[i] + 12, b.offset[i] + 60);
          b.data.set([0x81, 0x00, vlan >> 8, vlan & 255], b.offset[i] + 12);
        }
      }
    }
    now += 10;
    ts.stage.process(bt, now);
    native.process(bn, now);
    if (!compare(t, ts, nat, bt, bn, `grow round ${round}`)) break;
    let found = 0;
    for (let i = 0; i < bn.count; i++) if (bn.drop[i] !== Drop['no-domain'] && bn.drop[i] !== Drop['unknown-remote']) found++;
    t.equal(found, bn.count, `round ${round}: every frame found its domain and remote`);
    t.equal(native.counter(0, 'flood-copies'), ts.stage.counter(0, 'flood-copies'), `round ${round}: domain 0 floods to its new remotes too`);
  }
  // Membership changes that add no domain: only a remote, then only a port, of domain 0; then floods in it.
  const changes: [string, (d: BridgeDomains) => void][] = [
    ['a remote only', (d) => d.addRemoteIp(0, '10.8.0.1')],
    ['a port only', (d) => d.addPort(0, 120, 0)],
  ];
  for (const [what, change] of changes) {
    const before = nat.domains.version;
    for (const d of [ts.domains, nat.domains]) change(d);
    t.ok(nat.domains.version > before, `${what}: version moved`);
    for (const b of [bt, bn]) {
      b.clear();
      for (let k = 0; k < 16; k++) b.append(frame(0x300 + k, 0xffff), 0, 64, 64, 0, 0, 1);
    }
    now += 10;
    ts.stage.process(bt, now);
    native.process(bn, now);
    if (!compare(t, ts, nat, bt, bn, `after ${what}`)) break;
    t.equal(native.counter(0, 'flood-copies'), ts.stage.counter(0, 'flood-copies'), `${what}: the flood counts the new member`);
  }
  t.pass('identical after every round');
});

t.test('steady state: every source known, one native call per batch, no TS learning', async (t) => {
  const s: Scenario = { name: 'steady', table: { ageingSeconds: 3600 }, macs: 64, batches: 1, time: 'now' };
  const ts = side(s, () => 0);
  const nat = side(s, () => 0);
  const native = new NativeBridgeStage({ table: nat.table, domains: nat.domains, ageSlotsPerBatch: 0 });
  nat.stage = native;
  const mk = () => new PacketBatch({ capacity: 256, dataRoom: 128 });
  const bt = mk();
  const bn = mk();
  // Learn 64 MACs on ports 1 and 2 of VNI 100, then send between them.
  const frame = (src: number, dst: number) => Uint8Array.of(2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 8, 0, ...new Array(50).fill(0));
  for (const b of [bt, bn]) for (let m = 0; m < 64; m++) b.append(frame(m, 255), 0, 64, 64, 0, 0, 1 + (m & 1));
  ts.stage.process(bt, 100);
  native.process(bn, 100);
  t.ok(compare(t, ts, nat, bt, bn, 'learning batch'));
  const slowBefore = native.slowFrames;
  const callsBefore = native.nativeCalls;
  for (let round = 0; round < 5; round++) {
    for (const b of [bt, bn]) {
      b.clear();
      for (let k = 0; k < 256; k++) b.append(frame(k & 63, (k * 5 + (k >> 2)) & 63), 0, 64, 64, 0, 0, 1 + (k & 1));
    }
    ts.stage.process(bt, 200 + round);
    native.process(bn, 200 + round);
    t.ok(compare(t, ts, nat, bt, bn, `steady batch ${round}`));
  }
  t.equal(native.slowFrames, slowBefore, 'no frame needed the TypeScript path');
  t.equal(native.nativeCalls - callsBefore, 5, 'one native call per batch');
  t.ok(Array.from(native.action.subarray(0, 256)).some((a) => a === Action.LOCAL), 'unicast decided natively');
  t.ok(Array.from(native.action.subarray(0, 256)).some((a) => a === Action.DROP), 'same-port drops decided natively');
});

t.test('the replicator reads the native decisions like the TS ones', async (t) => {
  const s: Scenario = { name: 'rep', table: {}, macs: 30, batches: 1, time: 'ts' };
  const r = xorshift(77);
  const ts = side(s, () => 0);
  const nat = side(s, () => 0);
  const native = new NativeBridgeStage({ table: nat.table, domains: nat.domains, ageSlotsPerBatch: 0 });
  const bt = new PacketBatch({ capacity: 128, dataRoom: 128 });
  const bn = new PacketBatch({ capacity: 128, dataRoom: 128 });
  for (let i = 0; i < 128; i++) addFrame(r, [bt, bn], 30, 10 + i / 100);
  ts.stage.process(bt);
  native.process(bn);
  const copies = (stage: BridgeStage, b: PacketBatch): string[] => {
    const rep = new Replicator(stage);
    const out = new PacketBatch({ capacity: 4096, dataRoom: 128 });
    rep.start(b);
    rep.fillLocal(out);
    const got: string[] = [];
    for (let j = 0; j < out.count; j++) got.push(`L${out.outPort[j]}:${Buffer.from(out.frame(j)).toString('hex')}`);
    for (;;) {
      out.clear();
      const dom = rep.fillRemote(out);
      if (dom < 0) break;
      for (let j = 0; j < out.count; j++) got.push(`R${dom}/${out.outPort[j]}@${out.vni[j]}:${Buffer.from(out.frame(j)).toString('hex')}`);
    }
    return got;
  };
  const want = copies(ts.stage, bt);
  t.ok(want.length > 50, `${want.length} copies`);
  t.same(copies(native, bn), want, 'same copies, same bytes');
});

/**
 * NativeReplicator against Replicator, differentially. A TypeScript BridgeStage
 * decides on random traffic (local ports tagged and untagged, with random PCP,
 * decapped frames from IPv4/IPv6 remotes, broadcasts, unicast to learnt local
 * and remote MACs, drops, truncated captures, frames close to dataRoom so an
 * egress tag overflows the slot); both replicators then copy the same decisions
 * into their own output batches (capacities 1, 3, 7, 256, filled alike with
 * garbage first, drained the same way, sometimes only partly so cursors resume
 * with a non-empty batch). After every call: return value, output count,
 * `lost`, the whole output slab and every metadata array must be identical.
 * Membership changes between batches (ports, remotes, a new domain) and a
 * batch larger than the stage's arrays (BridgeStage.grow) must be picked up.
 * Hostile inputs (wrong handles, counts, cursors, frames outside their slot,
 * bad membership arrays) must throw or count `lost`, never crash.
 */
import t from 'tap';
import { PacketBatch, PacketFlag } from '../../src/batch/packet-batch.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';
import { MacTable } from '../../src/l2/mac-table.js';
import { BridgeDomains, parseAddrWords } from '../../src/l2/bridge-domain.js';
import { BridgeStage, Action } from '../../src/l2/bridge-stage.js';
import { Replicator } from '../../src/l2/replicate.js';
import { NativeReplicator } from '../../src/l2/native-replicate.js';
import { loadNative } from '../../src/native/addon.js';
import { checkContract } from '../../src/native/contract.js';
import { L2_CONTRACT } from '../../src/l2/contract.js';

const SEED: [number, number] = [0x1234567, -0x789abcd];
const DATA_ROOM = 512;
const REMOTES = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '2001:db8::2', '2001:db8::3'];

function xorshift(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

/** Ingress places: (port, VLAN) pairs and remotes (index into REMOTES, VNI). */
interface World {
  domains: BridgeDomains;
  stage: BridgeStage;
  localIn: Array<[number, number]>;
  remoteIn: Array<[number, number]>;
}

function world(): World {
  const table = new MacTable({ capacity: 4096, seed: SEED, maxDomains: 16 });
  const domains = new BridgeDomains({ table, maxDomains: 16 });
  const a = domains.addVniDomain(100);
  domains.addPort(a, 1, 0);
  domains.addPort(a, 2, 10);
  domains.addPort(a, 3, 30);
  domains.addPort(a, 4, 0);
  for (const ip of REMOTES.slice(0, 3)) domains.addRemoteIp(a, ip);
  const b = domains.addVniDomain(200);
  domains.addPort(b, 3, 40);
  domains.addPort(b, 5, 0);
  for (const ip of [REMOTES[2], REMOTES[3]]) domains.addRemoteIp(b, ip);
  const c = domains.addVniDomain(300);
  domains.addPort(c, 6, 0); // no remotes: floods from port 6 have no target
  const d = domains.addVlanDomain(50);
  domains.addPort(d, 7, 50);
  domains.addPort(d, 1, 50);
  const stage = new BridgeStage({ table, domains, ageSlotsPerBatch: 0 });
  return {
    domains, stage,
    // Includes places not bound yet (port 8 untagged, port 2 VLAN 60, VNI 400): dropped until added.
    localIn: [[1, 0], [2, 10], [3, 30], [4, 0], [3, 40], [5, 0], [6, 0], [7, 50], [1, 50], [8, 0], [2, 60]],
    remoteIn: [[0, 100], [1, 100], [2, 100], [2, 200], [3, 200], [4, 200], [4, 400], [1, 400]],
  };
}

/** Membership changes between batches: each picked up by the next fill call. */
function change(w: World, step: number): void {
  const d = w.domains;
  if (step === 0) d.addPort(0, 8, 0);
  else if (step === 1) d.addRemoteIp(1, REMOTES[4]);
  else if (step === 2) {
    const e = d.addVniDomain(400);
    d.addPort(e, 2, 60);
    d.addRemoteIp(e, REMOTES[4]);
    d.addRemoteIp(e, REMOTES[1]);
  } else if (step === 3) d.addPort(2, 9, 70); // a tagged member port nobody sends from
}

function fillBatch(r: () => number, w: World, b: PacketBatch, n: number, macs: number): void {
  b.clear();
  const buf = new Uint8Array(DATA_ROOM + 8);
  for (let k = 0; k < n; k++) {
    const dk = r() % 8;
    if (dk === 0) buf.fill(0xff, 0, 6);
    else if (dk === 1) buf.set([0x01, 0x00, 0x5e, 0, 0, r() & 0xff], 0);
    else {
      const m = r() % macs;
      buf.set([0x02, 0, 0, 0, m >> 8, m & 0xff], 0);
    }
    const m = r() % macs;
    buf.set([0x02, 0, 0, 0, m >> 8, m & 0xff], 6);
    const remote = r() % 3 === 0;
    const place = remote ? w.remoteIn[m % w.remoteIn.length] : w.localIn[m % w.localIn.length];
    let off = 12;
    if (!remote && place[1] !== 0) {
      buf[12] = 0x81; buf[13] = 0x00;
      buf[14] = (r() & 0xf0) | (place[1] >> 8); buf[15] = place[1] & 0xff;
      off = 16;
    } else if (!remote && r() % 20 === 0) {
      buf[12] = 0x81; buf[13] = 0x00; buf[14] = r() & 0xe0; buf[15] = 0; // priority tag: stripped
      off = 16;
    }
    buf[off] = 0x08; buf[off + 1] = 0x00;
    // Sizes: small, middling, and close to dataRoom so a tag added on egress overflows.
    const sk = r() % 6;
    const len = sk === 0 ? DATA_ROOM - (r() % 5) : sk === 1 ? 60 : Math.max(off + 2, 14 + (r() % (DATA_ROOM - 14)));
    for (let q = off + 2; q < len; q++) buf[q] = r() & 0xff;
    const trunc = r() % 10 === 0;
    const i = b.append(buf, 0, len, trunc ? len + 100 : len, 1000 + k, r() % 1e9, remote ? 0 : place[0]);
    if (remote) {
      const [w0, w1, w2, w3, v6] = parseAddrWords(REMOTES[place[0]]);
      b.flags[i] = PacketFlag.DECAPPED | (v6 ? PacketFlag.REMOTE_V6 : 0);
      b.vni[i] = place[1];
      b.remoteAddr.set([w0, w1, w2, w3], i << 2);
    }
    if (trunc) b.flags[i] |= PacketFlag.TRUNCATED;
    if (r() % 10 === 0) b.drop[i] = 9; // dropped by an earlier stage
  }
}

function garbage(r: () => number, a: PacketBatch, b: PacketBatch): void {
  for (let k = 0; k < a.data.length; k += 4) {
    const v = r();
    for (let q = 0; q < 4 && k + q < a.data.length; q++) a.data[k + q] = b.data[k + q] = (v >>> (q * 8)) & 0xff;
  }
  for (const f of ['offset', 'length', 'wireLength', 'tsNsec', 'inPort', 'outPort', 'vni', 'drop', 'flags', 'l2', 'l3', 'l4', 'innerL2', 'remoteAddr', 'entropy', 'tsSec'] as const) {
    const x = a[f];
    for (let k = 0; k < x.length; k++) x[k] = b[f][k] = r() & 0xffff;
  }
}

const META = ['offset', 'length', 'wireLength', 'tsSec', 'tsNsec', 'inPort', 'outPort', 'vni', 'drop', 'flags', 'l2', 'l3', 'l4', 'innerL2', 'remoteAddr', 'entropy'] as const;

/** Identical output batches: count, whole slab, every metadata array (first difference named). */
function same(a: PacketBatch, b: PacketBatch): string | null {
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  for (let k = 0; k < a.data.length; k++) if (a.data[k] !== b.data[k]) return `slab byte ${k} (slot ${Math.floor(k / a.slotSize)})`;
  for (const f of META) {
    const x = a[f];
    const y = b[f];
    for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return `${f}[${k}] ${x[k]} vs ${y[k]}`;
  }
  return null;
}

interface Tally { calls: number; copies: number; lost: number; local: number; remote: number; mismatches: string[] }

/** Drive both replicators the dataplane way, comparing after every call; partial drains sometimes. */
function drive(r: () => number, vniOf: (d: number) => number, ts: Replicator, nat: Replicator, b: PacketBatch, outTs: PacketBatch, outNat: PacketBatch, tally: Tally, label: string): void {
  const check = (what: string, x: unknown, y: unknown) => {
    tally.calls++;
    if (x !== y) tally.mismatches.push(`${label} ${what}: returned ${String(x)} vs ${String(y)}`);
    if (ts.lost !== nat.lost) tally.mismatches.push(`${label} ${what}: lost ${ts.lost} vs ${nat.lost}`);
    const d = same(outTs, outNat);
    if (d !== null) tally.mismatches.push(`${label} ${what}: ${d}`);
  };
  const drain = () => {
    tally.copies += outTs.count;
    // Mostly empty the batch; sometimes keep a prefix so the next call appends after it.
    const keep = r() % 4 === 0 ? r() % (outTs.count + 1) : 0;
    outTs.count = outNat.count = keep;
  };
  ts.start(b);
  nat.start(b);
  for (let guard = 0; guard < 100000; guard++) {
    const x = ts.fillLocal(outTs);
    const y = nat.fillLocal(outNat);
    check('fillLocal', x, y);
    tally.local += outTs.count;
    if (x !== y || tally.mismatches.length > 0) return;
    drain();
    if (x) break;
  }
  for (let guard = 0; guard < 100000; guard++) {
    if (outTs.count >= outTs.capacity) outTs.count = outNat.count = 0;
    const before = outTs.count;
    const x = ts.fillRemote(outTs);
    const y = nat.fillRemote(outNat);
    check('fillRemote', x, y);
    tally.remote += outTs.count;
    if (x !== y || tally.mismatches.length > 0) return;
    // One domain per remote batch: every copy this call made carries that domain's VNI.
    for (let j = before; j < outNat.count; j++) {
      if (outNat.vni[j] !== vniOf(x)) tally.mismatches.push(`${label} fillRemote: copy ${j} has VNI ${outNat.vni[j]}, domain ${x}`);
    }
    drain();
    if (x < 0) break;
  }
}

t.test('NativeReplicator equals Replicator call by call', async (t) => {
  for (const outCap of [1, 3, 7, 256]) {
    const w = world();
    const ts = new Replicator(w.stage);
    const nat = new NativeReplicator(w.stage);
    const r = xorshift(0x5eed + outCap);
    const tally: Tally = { calls: 0, copies: 0, lost: 0, local: 0, remote: 0, mismatches: [] };
    const outTs = new PacketBatch({ capacity: outCap, dataRoom: DATA_ROOM, headroom: 64 });
    const outNat = new PacketBatch({ capacity: outCap, dataRoom: DATA_ROOM, headroom: 64 });
    garbage(r, outTs, outNat);
    let acts = [0, 0, 0, 0];
    for (let k = 0; k < 40; k++) {
      if (k % 8 === 7) change(w, (k - 7) / 8);
      // Batch 30 is larger than the stage's 256-frame arrays: grow() replaces them, C must rebind.
      const cap = k === 30 ? 300 : 64;
      const b = new PacketBatch({ capacity: cap, dataRoom: DATA_ROOM, headroom: 32 });
      fillBatch(r, w, b, cap - (r() % 4), 40);
      w.stage.process(b, 1000 + k);
      for (let i = 0; i < b.count; i++) acts[w.stage.action[i]]++;
      drive(r, (d) => w.domains.vni[d], ts, nat, b, outTs, outNat, tally, `cap ${outCap} batch ${k}`);
      if (tally.mismatches.length > 0) break;
    }
    t.same(tally.mismatches.slice(0, 5), [], `output capacity ${outCap}: ${tally.calls} calls, ${tally.local} local / ${tally.remote} remote copies seen`);
    t.equal(ts.lost, nat.lost, `lost equal (${ts.lost})`);
    // The traffic must have exercised what it claims to.
    t.ok(ts.lost > 0, 'some copies lost to tagging overflow');
    t.ok(acts[Action.LOCAL] > 20 && acts[Action.REMOTE] > 20 && acts[Action.FLOOD] > 20 && acts[Action.DROP] > 20, `actions ${acts.join('/')}`);
    t.ok(w.stage.action.length >= 300, 'the stage grew');
    t.ok(nat.nativeCalls > 0);
    acts = [0, 0, 0, 0];
  }
});

t.test('a target that left the domain and a domain out of range count as lost in both', async (t) => {
  const w = world();
  const ts = new Replicator(w.stage);
  const nat = new NativeReplicator(w.stage);
  const b = new PacketBatch({ capacity: 8, dataRoom: DATA_ROOM });
  const r = xorshift(7);
  fillBatch(r, w, b, 8, 40);
  w.stage.process(b, 5);
  const st = w.stage;
  // Forge decisions: unicast to a non-member port, a non-member remote, a domain that does not exist.
  st.action.fill(Action.DROP, 0, 8);
  st.action[0] = Action.LOCAL; st.domainOf[0] = 0; b.outPort[0] = 99;
  st.action[1] = Action.REMOTE; st.domainOf[1] = 0; b.outPort[1] = 3; // remote 3 is in domain 1 only
  st.action[2] = Action.LOCAL; st.domainOf[2] = 12; b.outPort[2] = 1;
  st.action[3] = Action.LOCAL; st.domainOf[3] = 0; b.outPort[3] = 2; st.tagLen[3] = 0;
  st.action[4] = Action.REMOTE; st.domainOf[4] = 1; b.outPort[4] = 3;
  const outTs = new PacketBatch({ capacity: 4, dataRoom: DATA_ROOM });
  const outNat = new PacketBatch({ capacity: 4, dataRoom: DATA_ROOM });
  ts.start(b); nat.start(b);
  t.equal(nat.fillLocal(outNat), ts.fillLocal(outTs));
  t.equal(same(outTs, outNat), null);
  outTs.clear(); outNat.clear();
  const seq: number[][] = [];
  for (;;) {
    const x = ts.fillRemote(outTs);
    const y = nat.fillRemote(outNat);
    seq.push([x, y]);
    t.equal(same(outTs, outNat), null);
    outTs.clear(); outNat.clear();
    if (x < 0 || y < 0) break;
  }
  t.same(seq.map((p) => p[1]), seq.map((p) => p[0]), `fillRemote returns ${JSON.stringify(seq)}`);
  t.equal(nat.lost, ts.lost);
  t.equal(ts.lost, 3, 'port 99, remote 3 in domain 0, domain 12');
});

t.test('hostile inputs: errors or lost, never a crash', async (t) => {
  const w = world();
  const nat = new NativeReplicator(w.stage);
  const ts = new Replicator(w.stage);
  const b = new PacketBatch({ capacity: 16, dataRoom: DATA_ROOM });
  fillBatch(xorshift(99), w, b, 16, 4);
  w.stage.process(b, 5);
  w.stage.process(b, 6); // second pass: sources learnt, unicast decided
  const out = new PacketBatch({ capacity: 256, dataRoom: DATA_ROOM });
  const a = loadNative() as unknown as {
    ReplicateCore: new () => { bindStage(...x: unknown[]): void; setMembership(...x: unknown[]): void };
    replicateLocal(...x: unknown[]): unknown;
    replicateRemote(...x: unknown[]): unknown;
  };
  const iv = nativeBatchView(b);
  const ov = nativeBatchView(out);
  const core = (nat as unknown as { core: unknown }).core;
  t.throws(() => a.replicateLocal({}, iv, 1, ov, 0), TypeError, 'a plain object is no core');
  t.throws(() => a.replicateLocal(iv, iv, 1, ov, 0), TypeError, 'a BatchView is no core');
  t.throws(() => a.replicateLocal(core, core, 1, ov, 0), TypeError, 'a core is no BatchView');
  t.throws(() => a.replicateRemote(core, iv, 17, ov, 0), RangeError, 'input count over capacity');
  t.throws(() => a.replicateLocal(core, iv, 1, ov, 257), RangeError, 'output count over capacity');
  t.throws(() => a.replicateLocal(core, iv, -1, ov, 0), RangeError, 'negative count');
  t.throws(() => a.replicateLocal(core), TypeError, 'missing arguments');
  // Actions and MAC bits come from the generated contract: an addon built from other lists is refused.
  t.doesNotThrow(() => checkContract(a, L2_CONTRACT), 'this build matches the l2 contract');
  t.throws(() => checkContract({ contract: { l2: 'ffffffff' } }, L2_CONTRACT), /another 'l2' contract/, 'a stale build is refused');
  const fresh = new a.ReplicateCore();
  t.throws(() => a.replicateLocal(fresh, iv, 1, ov, 0), /bindStage first/, 'unbound core');
  t.throws(() => fresh.bindStage(new Int32Array(2), new Uint8Array(4), new Int32Array(4), new Int32Array(4), new Uint8Array(4)), RangeError, 'short state');
  t.throws(() => fresh.bindStage(new Int32Array(6), new Int32Array(4), new Int32Array(4), new Int32Array(4), new Uint8Array(4)), TypeError, 'wrong element type');
  const i32 = (...x: number[]) => Int32Array.from(x);
  t.throws(() => fresh.setMembership(i32(0, 5), i32(1), i32(0), i32(0, 0), i32(0), i32(1)), RangeError, 'ports shorter than portStart says');
  t.throws(() => fresh.setMembership(i32(0, 1, 0), i32(1), i32(0), i32(0, 0, 0), i32(0), i32(1, 2)), RangeError, 'decreasing portStart');
  t.throws(() => fresh.setMembership(i32(0, 1), i32(1), i32(-1), i32(0, 0), i32(0), i32(1)), RangeError, 'negative tag');
  t.throws(() => fresh.setMembership(i32(0, 1), i32(1), i32(0), i32(0, 0, 0), i32(0), i32(1)), RangeError, 'domain counts disagree');
  // A full output batch: fillRemote refuses like the TS one.
  const full = new PacketBatch({ capacity: 2, dataRoom: DATA_ROOM });
  full.count = 2;
  nat.start(b); ts.start(b);
  t.throws(() => ts.fillRemote(full), RangeError);
  t.throws(() => nat.fillRemote(full), RangeError);
  // Frames outside their slot (or too long for it): lost, never copied.
  const lost0 = nat.lost;
  let wanted = 0;
  for (let i = 0; i < b.count; i++) {
    if (w.stage.action[i] === Action.LOCAL) wanted++;
    b.offset[i] = i % 2 === 0 ? 0xfffffff0 : b.offset[i];
    b.length[i] = i % 2 === 0 ? b.length[i] : 0xffffffff;
  }
  t.ok(wanted > 0, 'some local unicast to mangle');
  nat.start(b);
  out.clear();
  t.equal(nat.fillLocal(out), true);
  t.equal(out.count, 0, 'nothing copied from outside the slots');
  t.ok(nat.lost > lost0, `lost counted (${nat.lost - lost0})`);
  // Hostile cursors in the shared state array, hostile stage arrays: bounded, no crash.
  const state = (nat as unknown as { state: Int32Array }).state;
  fillBatch(xorshift(5), w, b, 16, 4);
  w.stage.process(b, 7);
  nat.start(b);
  state[0] = -5; state[1] = 0x7fffffff; state[2] = 1e9; state[3] = -1;
  out.clear();
  t.type(nat.fillLocal(out), 'boolean');
  t.type(nat.fillRemote(out.count < out.capacity ? out : new PacketBatch({ capacity: 4 })), 'number');
  w.stage.action.fill(Action.FLOOD);
  w.stage.domainOf.fill(-7);
  w.stage.tagLen.fill(200);
  nat.start(b);
  out.clear();
  t.equal(nat.fillLocal(out), true, 'floods of no domain: skipped');
  t.equal(nat.fillRemote(out), -1);
  w.stage.domainOf.fill(0);
  w.stage.action.fill(Action.LOCAL);
  for (let i = 0; i < b.count; i++) b.length[i] = 100; // in the slot, shorter than 12 + tagLen
  nat.start(b);
  out.clear();
  const l0 = nat.lost;
  t.equal(nat.fillLocal(out), true);
  t.equal(out.count, 0, 'a tag length longer than the frame copies nothing');
  t.ok(nat.lost > l0);
  // The same batch as input and output: garbage in it, but no crash.
  fillBatch(xorshift(6), w, b, 16, 4);
  w.stage.process(b, 8);
  nat.start(b);
  for (let k = 0; k < 20 && a.replicateLocal(core, iv, 16, iv, 0) !== true; k++);
  t.type(a.replicateRemote(core, iv, 16, iv, 0), 'number', 'survived');
});

t.test('a missing native build is a clear Error', async (t) => {
  const { NativeReplicator: NR } = await t.mockImport<typeof import('../../src/l2/native-replicate.js')>('../../src/l2/native-replicate.js', {
    '../../src/native/addon.js': { loadNative: () => ({}) },
  });
  const w = world();
  t.throws(() => new NR(w.stage), /native replication: the vtepd addon lacks ReplicateCore, replicateLocal, replicateRemote \(rebuild it: npm run build:native\)/);
});

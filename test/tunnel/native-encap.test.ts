/**
 * NativeEncapStage (native-bindings/src/encap.cc) against EncapStage
 * (src/tunnel/encap.ts): identical batches through both, then the slabs, every
 * metadata array and the counters must be equal, byte for byte, over several
 * consecutive batches (IPv4 id continuity, including its 16-bit wrap).
 * Then hostile input straight into the addon (frames outside their slots,
 * bad counts, wrong handles, bad core configs):
 * errors or drops, never a crash. Last, tshark decodes one native output.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketBatch, NONE } from '../../src/batch/packet-batch.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { NativeEncapStage, nativeEncapAvailable, loadEncapAddon, type EncapCoreInit } from '../../src/tunnel/native-encap.js';
import { TunnelDrop } from '../../src/tunnel/drop-reasons.js';
import { COUNTS_LEN } from '../../src/batch/stage.js';
import type { EncapConfig } from '../../src/tunnel/tunnel-config.js';
import { PcapWriter } from '../../src/capture/pcap-writer.js';
import { flowHash } from '../../src/tunnel/flow-hash.js';

const skip = nativeEncapAvailable() ? false : 'native addon not built (npm run build:native)';

// ---------------------------------------------------------------- inner frames

/** Deterministic PRNG (mulberry32): the same frames for both stages and every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);

function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = int(r, 256);
  return b;
}

/** One inner Ethernet frame of a randomly chosen kind (sizes from 0 to past a 1500 MTU, odd ones too). */
function innerFrame(r: Rand): Uint8Array {
  const kind = int(r, 14);
  if (kind === 0) return randomBytes(r, int(r, 14)); // shorter than an Ethernet header
  if (kind === 1) return randomBytes(r, 14); // header only
  if (kind === 2) return randomBytes(r, 15 + int(r, 120)); // garbage, any ethertype
  const eth = randomBytes(r, 12);
  const tags: number[] = [];
  if (kind === 3) tags.push(0x8100);
  if (kind === 4) tags.push(0x88a8, 0x8100);
  if (kind === 5) tags.push(0x9100, 0x8100, 0x8100, 0x8100, 0x8100); // more than the hash follows (4)
  const v6 = r() < 0.4;
  const payload = int(r, 5) === 0 ? 1400 + int(r, 200) : int(r, 300);
  const l4kinds = [6, 17, 1, 132, 58, 47];
  const proto = l4kinds[int(r, l4kinds.length)];
  const ipHdr = v6 ? 40 : 20 + 4 * (int(r, 4) === 0 ? int(r, 11) : 0);
  const l4 = randomBytes(r, payload);
  const out = new Uint8Array(12 + tags.length * 4 + 2 + ipHdr + payload);
  out.set(eth, 0);
  let p = 12;
  for (const tag of tags) {
    out[p] = tag >> 8;
    out[p + 1] = tag & 0xff;
    out[p + 2] = int(r, 256);
    out[p + 3] = int(r, 256);
    p += 4;
  }
  out[p] = v6 ? 0x86 : 0x08;
  out[p + 1] = v6 ? 0xdd : 0x00;
  p += 2;
  const ip = randomBytes(r, ipHdr);
  if (v6) {
    ip[0] = 0x60 | (ip[0] & 15);
    ip[6] = proto;
  } else {
    ip[0] = 0x40 | (ipHdr >> 2);
    ip[9] = proto;
    const frag = int(r, 4);
    if (frag === 0) { ip[6] = 0x40; ip[7] = 0; } // DF
    else if (frag === 1) { ip[6] = 0x20; ip[7] = 0; } // MF, first fragment
    else if (frag === 2) { ip[6] = 0x00; ip[7] = 0x64; } // later fragment
    else { ip[6] = 0; ip[7] = 0; }
  }
  if (int(r, 12) === 0) ip[0] ^= 0xf0; // wrong version nibble
  out.set(ip, p);
  out.set(l4, p + ipHdr);
  // Now and then cut inside the IP or L4 header.
  if (int(r, 10) === 0) return out.subarray(0, Math.min(out.length, p + int(r, ipHdr + 6)));
  return out;
}

interface Shape {
  frames: Uint8Array[];
  /** Headroom of each frame (default: the batch's). */
  headroom: number[];
  outPort: number[];
  preDrop: number[];
  wire: number[];
}

/** A batch's worth of varied frames, remote choices, pre-dropped frames and headrooms. */
function shape(seed: number, count: number, nRemotes: number, batchHeadroom: number): Shape {
  const r = rng(seed);
  const s: Shape = { frames: [], headroom: [], outPort: [], preDrop: [], wire: [] };
  for (let i = 0; i < count; i++) {
    s.frames.push(innerFrame(r));
    const h = int(r, 16);
    // Short headroom (drops), every alignment mod 4 (the TS checksum has aligned and byte paths).
    s.headroom.push(h === 0 ? int(r, 100) : h === 1 ? batchHeadroom - 1 - int(r, 3) : batchHeadroom - int(r, 4));
    const o = int(r, 10);
    s.outPort.push(o === 0 ? NONE : o === 1 ? nRemotes + int(r, 3) : o === 2 ? -2 - int(r, 5) : int(r, nRemotes));
    s.preDrop.push(int(r, 15) === 0 ? 1 + int(r, 30) : 0);
    s.wire.push(int(r, 8) === 0 ? 9000 + int(r, 100) : 0);
  }
  return s;
}

function load(b: PacketBatch, s: Shape): void {
  b.clear();
  for (let i = 0; i < s.frames.length; i++) {
    const f = s.frames[i];
    b.append(f, 0, f.length, s.wire[i] || f.length, 1_700_000_000 + i, i * 1000);
    const start = i * b.slotSize + s.headroom[i];
    b.data.copyWithin(start, b.offset[i], b.offset[i] + f.length);
    b.offset[i] = start;
    b.outPort[i] = s.outPort[i];
    b.drop[i] = s.preDrop[i];
  }
}

const META = ['offset', 'length', 'wireLength', 'tsSec', 'tsNsec', 'inPort', 'outPort', 'vni', 'drop', 'flags',
  'l2', 'l3', 'l4', 'innerL2', 'remoteAddr', 'entropy'] as const;

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return k;
  return -1;
}

// ---------------------------------------------------------------- differential

const opt8 = { optClass: 0x0102, type: 0x01, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) };
const optCrit = { optClass: 0xffff, type: 0x80, data: Uint8Array.of(9, 9, 9, 9) };
const v4remotes = [{ ip: '192.0.2.10', mac: '02:00:00:00:10:10' }, { ip: '192.0.2.11' }, { ip: '198.51.100.7', mac: '02:00:00:00:77:77' }];
const v6remotes = [{ ip: '2001:db8::10' }, { ip: '2001:db8:1::11', mac: '02:00:00:00:11:11' }];

const configs: [string, EncapConfig][] = [
  ['vxlan v4, defaults (UDP checksum 0)', { type: 'vxlan', vni: 4242, local: '192.0.2.1', remotes: v4remotes }],
  ['vxlan v4, UDP checksum, DSCP copy, outer VLAN', { type: 'vxlan', vni: 0xabcdef, local: '192.0.2.1', remotes: v4remotes, udpCsum: true, copyDscp: true, vlan: 100 }],
  ['vxlan v6 (UDP checksum), DSCP copy', { type: 'vxlan', vni: 7, local: '2001:db8::1', remotes: v6remotes, copyDscp: true }],
  ['vxlan v6 zero-checksum TX, outer VLAN, MTU 1280', { type: 'vxlan', vni: 7, local: '2001:db8::1', remotes: v6remotes, zeroCsum6Tx: true, vlan: 4094, mtu: 1280 }],
  ['geneve v4, two options (one critical), UDP checksum', { type: 'geneve', vni: 99, local: '192.0.2.1', remotes: v4remotes, geneveOptions: [opt8, optCrit], udpCsum: true }],
  ['geneve v6, options, outer VLAN, DSCP copy', { type: 'geneve', vni: 99, local: '2001:db8::1', remotes: v6remotes, geneveOptions: [opt8], vlan: 5, copyDscp: true }],
  ['geneve v4, no options, MTU 576, narrow sport range', { type: 'geneve', vni: 1, local: '192.0.2.1', remotes: v4remotes, mtu: 576, sportMin: 1000, sportMax: 1003, dstPort: 7000 }],
  ['nvgre v4, hashed FlowID', { type: 'nvgre', vni: 0x123456, local: '192.0.2.1', remotes: v4remotes }],
  ['nvgre v4, fixed FlowID, DSCP copy, outer VLAN', { type: 'nvgre', vni: 5, local: '192.0.2.1', remotes: v4remotes, flowId: 0x5a, copyDscp: true, vlan: 10 }],
  ['nvgre v6, hashed FlowID', { type: 'nvgre', vni: 5, local: '2001:db8::1', remotes: v6remotes, ttl: 3 }],
  ['vxlan v4, one source port (sportMin = sportMax), TTL 1', { type: 'vxlan', vni: 3, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }], sportMin: 5000, sportMax: 5000, ttl: 1, udpCsum: true }],
];

const BATCHES = 6;
const HEADROOM = 128; // enough for every config above except GENEVE with long options: then drops
const CAP = 256;

for (const [name, cfg] of configs) {
  t.test(`differential: ${name}`, { skip }, (t) => {
    const ts = new EncapStage(cfg);
    const nat = new NativeEncapStage(cfg);
    const a = new PacketBatch({ capacity: CAP, headroom: HEADROOM, dataRoom: 1700 });
    const b = new PacketBatch({ capacity: CAP, headroom: HEADROOM, dataRoom: 1700 });
    const nRemotes = cfg.remotes.length;
    let slabOk = 0;
    let metaOk = 0;
    for (let k = 0; k < BATCHES; k++) {
      const s = shape(1000 * k + name.length, k === 0 ? 37 : CAP - k, nRemotes, HEADROOM);
      load(a, s);
      load(b, s);
      ts.process(a);
      nat.process(b);
      const d = firstDiff(a.data, b.data);
      if (d === -1) slabOk++;
      else t.fail(`batch ${k}: slabs differ at byte ${d} (slot ${Math.floor(d / a.slotSize)})`);
      for (const m of META) {
        const x = firstDiff(a[m], b[m]);
        if (x === -1) metaOk++;
        else t.fail(`batch ${k}: ${m}[${x}] TS ${a[m][x]} native ${b[m][x]}`);
      }
    }
    t.equal(slabOk, BATCHES, 'slabs byte-identical after every batch');
    t.equal(metaOk, BATCHES * META.length, 'every metadata array identical after every batch');
    t.same(nat.counters.snapshot(), ts.counters.snapshot(), 'counters identical');
    t.same([...nat.counters.drops], [...ts.counters.drops], 'per-code drops identical');
    // The shapes must exercise the stage: frames out and every encap drop reason.
    t.ok(ts.counters.outFrames > 100, `frames encapsulated (${ts.counters.outFrames})`);
    for (const r of ['inner-too-short', 'bad-remote', 'no-headroom'] as const) t.ok(ts.counters.drops[TunnelDrop[r]] > 0, `some ${r} drops`);
    t.ok(ts.counters.drops[TunnelDrop['mtu-exceeded']] > 0, 'some mtu-exceeded drops');
    t.end();
  });
}

t.test('differential: IPv4 identification continues across batches and wraps at 16 bits', { skip }, (t) => {
  const cfg: EncapConfig = { type: 'vxlan', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }], udpCsum: true };
  const ts = new EncapStage(cfg);
  const nat = new NativeEncapStage(cfg);
  const a = new PacketBatch({ capacity: CAP, headroom: HEADROOM, dataRoom: 256 });
  const b = new PacketBatch({ capacity: CAP, headroom: HEADROOM, dataRoom: 256 });
  const f = new Uint8Array(98);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0xb8], 0);
  let mismatch = 0;
  const ids = new Set<number>();
  const batches = Math.ceil(65536 / CAP) + 3;
  for (let k = 0; k < batches; k++) {
    a.clear();
    b.clear();
    for (let i = 0; i < CAP; i++) {
      f[30] = k & 0xff;
      f[31] = i;
      a.append(f, 0, f.length, f.length, 0, 0);
      b.append(f, 0, f.length, f.length, 0, 0);
    }
    ts.process(a);
    nat.process(b);
    if (firstDiff(a.data, b.data) !== -1 || firstDiff(a.offset, b.offset) !== -1) mismatch++;
    if (k === batches - 1) for (let i = 0; i < CAP; i++) ids.add(b.view.getUint16(b.offset[i] + 18));
  }
  t.equal(mismatch, 0, `${batches} batches (${batches * CAP} frames, past the 65535 id wrap) byte-identical`);
  const expectFirst = ((batches - 1) * CAP + 1) & 0xffff;
  t.ok(ids.has(expectFirst), `last batch starts at id ${expectFirst} (counter kept in C across calls)`);
  t.equal(nat.counters.outFrames, batches * CAP);
  t.end();
});

// ---------------------------------------------------------------- hostile input

t.test('hostile: frames outside their slots are dropped as no-headroom, nothing written', { skip }, (t) => {
  const cfg: EncapConfig = { type: 'vxlan', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }], udpCsum: true };
  const nat = new NativeEncapStage(cfg);
  const b = new PacketBatch({ capacity: 8, headroom: 128, dataRoom: 256 });
  const f = new Uint8Array(100).fill(0x5a);
  for (let i = 0; i < 8; i++) b.append(f, 0, f.length, f.length, 0, 0);
  const S = b.slotSize;
  const bad: [number, number][] = [
    [0xffffffff, 100], // offset past the slab
    [2 * S + 128, 100], // a well-formed frame, but in the next slot
    [2 * S + 128, 0xffffffff - 2 * S], // length runs past the slab (wraps 32 bits if added naively)
    [3 * S + 128, S], // runs past its slot's end
    [3 * S + 10, 100], // starts in the previous slot
    [5 * S + 200, 0xfffffff0], // huge length
    [6 * S, 100], // at its slot's start: inside the slot, no headroom
    [0, 100], // in slot 0
  ];
  for (let i = 0; i < 8; i++) {
    b.offset[i] = bad[i][0];
    b.length[i] = bad[i][1];
  }
  const before = b.data.slice();
  nat.process(b);
  t.equal(firstDiff(before, b.data), -1, 'slab untouched');
  // Length checks come first (as in encap.ts): the huge lengths are mtu-exceeded, the rest no-headroom.
  const H = TunnelDrop['no-headroom'];
  const M = TunnelDrop['mtu-exceeded'];
  t.same([...b.drop], [H, H, M, H, H, M, H, H], 'drop codes');
  t.equal(nat.counters.inFrames, 8);
  t.equal(nat.counters.outFrames, 0);
  t.equal(nat.counters.totalDrops(), 8);
  t.end();
});

t.test('hostile: counts, handles and configs are checked; errors, never a crash', { skip }, (t) => {
  const addon = loadEncapAddon();
  const cfg: EncapConfig = { type: 'geneve', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }] };
  const nat = new NativeEncapStage(cfg);
  const b = new PacketBatch({ capacity: 4 });
  const f = new Uint8Array(60);
  for (let i = 0; i < 4; i++) b.append(f, 0, f.length, f.length, 0, 0);
  const view = nativeBatchView(b);
  const core = nat.core;
  const anyFn = addon.geneveEncapBatch as unknown as (...a: unknown[]) => number;
  for (const count of [5, -1, 1.5, NaN, Infinity, 2 ** 32]) t.throws(() => anyFn(core, view, count), RangeError, `count ${count}`);
  t.throws(() => anyFn(core, view, '4'), TypeError, 'count as a string');
  t.throws(() => anyFn(core, view), TypeError, 'count missing');
  for (const [what, h] of [['{}', {}], ['null', null], ['a number', 7], ['the batch view', view], ['the batch', b]] as [string, unknown][]) {
    t.throws(() => anyFn(h, view, 4), TypeError, `core = ${what}`);
  }
  for (const [what, h] of [['{}', {}], ['the core', core], ['the batch itself', b], ['undefined', undefined]] as [string, unknown][]) {
    t.throws(() => anyFn(core, h, 4), TypeError, `batch = ${what}`);
  }
  t.throws(() => (addon.vxlanEncapBatch as unknown as (...a: unknown[]) => number)(core, view, 4), { name: 'TypeError', message: /vxlanEncapBatch: core is a geneve EncapCore/ });
  t.throws(() => (addon.nvgreEncapBatch as unknown as (...a: unknown[]) => number)(core, view, 4), TypeError);
  t.equal(anyFn(core, view, 4), 4, 'still works after the refusals');
  t.equal(anyFn(core, view, 0), 0, 'count 0');

  // Core configs: take a valid one apart field by field.
  const good = (): EncapCoreInit => ({
    type: 'vxlan', v6: false, udpCsum: true, copyDscp: false, vni: 1, mtu: 1500, sportMin: 49152, sportMax: 65535, flowId: -1,
    hdrLen: 50, ethLen: 14, ipOff: 14, l4Off: 34, tunOff: 42, templates: new Uint8Array(100), ip4Sum: new Float64Array(2), udpSum: new Float64Array(2),
    counts: new Uint32Array(COUNTS_LEN),
  });
  t.ok(new addon.EncapCore(good()), 'the valid config is accepted');
  const bads: [string, Partial<Record<keyof EncapCoreInit, unknown>>][] = [
    ['type', { type: 'gre' }],
    ['v6 not boolean', { v6: 1 }],
    ['vni', { vni: 1 << 24 }],
    ['mtu', { mtu: 70000 }],
    ['sport range', { sportMin: 100, sportMax: 99 }],
    ['hdrLen huge', { hdrLen: 100000 }],
    ['templates not whole headers', { templates: new Uint8Array(99) }],
    ['templates empty', { templates: new Uint8Array(0) }],
    ['templates wrong type', { templates: new Uint16Array(50) }],
    ['l4 header past hdrLen', { l4Off: 45 }],
    ['tunnel header past hdrLen', { tunOff: 43 }],
    ['ip header past hdrLen (v6)', { v6: true, ipOff: 14, l4Off: 20 }],
    ['ip4Sum count', { ip4Sum: new Float64Array(1) }],
    ['udpSum NaN', { udpSum: Float64Array.of(NaN, 0) }],
    ['udpSum negative', { udpSum: Float64Array.of(-1, 0) }],
    ['counts too short', { counts: new Uint32Array(3) }],
    ['counts wrong type', { counts: new Float64Array(COUNTS_LEN) }],
    ['counts too long', { counts: new Uint32Array(COUNTS_LEN + 1) }],
    ['counts missing', { counts: undefined }],
  ];
  for (const [what, patch] of bads) t.throws(() => new addon.EncapCore({ ...good(), ...patch } as EncapCoreInit), `refused: ${what}`);
  t.throws(() => new (addon.EncapCore as unknown as new () => unknown)(), TypeError, 'no config');

  // (The counts array is bound once, like every array a native core holds: see batch_view.h.)

  // outPort extremes go to bad-remote.
  b.clear();
  for (let i = 0; i < 4; i++) b.append(f, 0, f.length, f.length, 0, 0);
  b.outPort.set([0x7fffffff, -0x80000000, 1, -1]);
  nat.counters.reset();
  nat.process(b);
  const R = TunnelDrop['bad-remote'];
  t.same([...b.drop], [R, R, R, 0], 'outPort 2^31-1, -2^31 and 1 (one remote) refused, NONE -> remote 0');
  t.end();
});

t.test('construction fails clearly when the addon lacks the encap exports', async (t) => {
  const { NativeEncapStage: Fresh } = await t.mockImport<typeof import('../../src/tunnel/native-encap.js')>('../../src/tunnel/native-encap.js', {
    '../../src/native/addon.js': { loadNative: () => ({ BatchView: function () {} }) },
  });
  t.throws(() => new Fresh({ type: 'vxlan', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }] }),
    { message: /lacks EncapCore, vxlanEncapBatch, geneveEncapBatch, nvgreEncapBatch.*npm run build:native/ });
  const { NativeEncapStage: NoAddon } = await t.mockImport<typeof import('../../src/tunnel/native-encap.js')>('../../src/tunnel/native-encap.js', {
    '../../src/native/addon.js': { loadNative: () => { throw new Error('vtepd native addon is not built'); } },
  });
  t.throws(() => new NoAddon({ type: 'vxlan', vni: 1, local: '192.0.2.1', remotes: [{ ip: '192.0.2.2' }] }), /not built/);
});

// ---------------------------------------------------------------- tshark

/** Wireshark's checksum status "Good" (PROTO_CHECKSUM_E_GOOD). */
const GOOD = '1';
let haveTshark = true;
try {
  execFileSync('tshark', ['--version'], { stdio: 'ignore' });
} catch {
  haveTshark = false;
}

t.test('tshark decodes native output: VNI, remote, entropy from the inner flow hash, checksums good', { skip: skip || (haveTshark ? false : 'tshark not installed') }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-native-encap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Expected values from the TS flow hash and the RFC formulas, not from the native output.
  const sport = (h: number) => 49152 + (((h >>> 16) * 16384) >>> 16);
  const cases: [EncapConfig, string[], (row: string[], i: number, h: number) => boolean][] = [
    [{ type: 'vxlan', vni: 4242, local: '192.0.2.1', remotes: v4remotes, udpCsum: true },
      ['vxlan.vni', 'ip.dst', 'udp.srcport', 'ip.checksum.status', 'udp.checksum.status', 'ip.id', 'udp.dstport'],
      (row, i, h) => Number(row[2]) === sport(h) && row[3] === GOOD && row[4] === GOOD && Number(row[5]) === i + 1 && row[6] === '4789'],
    [{ type: 'geneve', vni: 99, local: '2001:db8::1', remotes: v6remotes, geneveOptions: [opt8] },
      ['geneve.vni', 'ipv6.dst', 'udp.srcport', 'udp.checksum.status', 'ipv6.flow', 'geneve.option.class'],
      (row, _i, h) => Number(row[2]) === sport(h) && row[3] === GOOD && Number(row[4]) === (h & 0xfffff) && Number(row[5]) === 0x0102],
    [{ type: 'nvgre', vni: 0x123456, local: '192.0.2.1', remotes: v4remotes },
      ['gre.key', 'ip.dst', 'gre.proto', 'ip.checksum.status'],
      (row, _i, h) => Number(row[0]) === 0x123456 * 256 + (h & 0xff) && Number(row[2]) === 0x6558 && row[3] === GOOD],
  ];
  for (const [cfg, fields, check] of cases) {
    const nat = new NativeEncapStage(cfg);
    const b = new PacketBatch({ capacity: 16, headroom: 128, dataRoom: 1600 });
    const f = new Uint8Array(201);
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 187, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 0);
    f[200] = 0xab; // odd length, non-zero last byte: the checksum's odd-byte case shows
    const hashes: number[] = [];
    for (let i = 0; i < 16; i++) {
      f[34] = i;
      f[41] = i * 7;
      b.append(f, 0, f.length, f.length, 1_700_000_000, i * 1000);
      b.outPort[i] = i % cfg.remotes.length;
      hashes.push(flowHash(f, 0, f.length));
    }
    nat.process(b);
    t.equal(nat.counters.outFrames, 16, `${cfg.type}: all encapsulated`);
    const file = join(dir, `${cfg.type}.pcap`);
    const w = new PcapWriter(file);
    w.writeBatch(b);
    w.close();
    const out = execFileSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f',
      ...fields.flatMap((x) => ['-e', x])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
    t.equal(rows.length, 16, `${cfg.type}: 16 records decoded`);
    let good = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const vniOk = cfg.type === 'nvgre' || Number(row[0]) === cfg.vni;
      if (vniOk && row[1] === cfg.remotes[i % cfg.remotes.length].ip && check(row, i, hashes[i])) good++;
      else t.fail(`${cfg.type} record ${i}: ${row.join(' | ')} (flow hash ${hashes[i].toString(16)})`);
    }
    t.equal(good, 16, `${cfg.type}: every record as expected`);
  }
  t.end();
});

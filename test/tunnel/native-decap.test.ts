/**
 * Native decap (native-bindings/src/decap.cc) against the TypeScript DecapStage:
 * the same frames, in two identical batches, through both stages; slabs, every
 * metadata array and the counters must be identical. Inputs: every capture in
 * fixtures/ (fixtures/bad included), frames made by EncapStage for VXLAN, GENEVE
 * and NVGRE over IPv4/IPv6, hand-made edge frames (IPv6 extension headers, IPv4
 * options and fragments, VLAN stacks), nested tunnels, the config switches, a
 * seeded mutation fuzz, the external captures when ../shared is present, and
 * hostile batches (frames outside their slot, bad counts and handles).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PacketBatch, PacketFlag } from '../../src/batch/packet-batch.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';
import { openCapture } from '../../src/capture/index.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { NativeDecapStage, loadNativeDecap } from '../../src/tunnel/native-decap.js';
import { TunnelDrop, dropReason } from '../../src/tunnel/drop-reasons.js';
import { COUNTS_DROPS, COUNTS_IN, COUNTS_LEN, COUNTS_OUT } from '../../src/batch/stage.js';
import { checkContract } from '../../src/native/contract.js';
import { BATCH_CONTRACT } from '../../src/batch/contract.js';
import { resolveDecapConfig, type DecapConfig, type EncapConfig, type TunnelType } from '../../src/tunnel/tunnel-config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CAP = 256;

interface Frame {
  data: Uint8Array;
  /** Wire length (> data.length sets TRUNCATED, as a capture would). */
  wire?: number;
  /** Drop code already set upstream (the stage must skip the frame). */
  preDrop?: number;
  /** Extra flags present before decap (e.g. FLOOD), kept or cleared as TS does. */
  flags?: number;
}

/** Batch with the frames appended and stale metadata in every field decap may or may not write. */
function fillBatch(frames: Frame[], from: number): PacketBatch {
  const b = new PacketBatch({ capacity: CAP, headroom: 128, dataRoom: 9216 });
  for (let k = from; k < frames.length && b.count < CAP; k++) {
    const f = frames[k];
    const i = b.append(f.data, 0, f.data.length, Math.max(f.wire ?? f.data.length, f.data.length), k, k * 7);
    if (i < 0) throw new Error(`frame ${k} (${f.data.length} B) does not fit a slot`);
    b.vni[i] = 0x10000 + k;
    b.entropy[i] = 0xabc00 + k;
    b.l2[i] = 3;
    b.l3[i] = 17;
    b.l4[i] = 37;
    b.innerL2[i] = 55;
    b.outPort[i] = k & 3;
    b.remoteAddr.fill(0xdead0000 + k, i * 4, i * 4 + 4);
    b.flags[i] |= f.flags ?? 0;
    if (f.preDrop) b.drop[i] = f.preDrop;
  }
  return b;
}

const FIELDS = ['offset', 'length', 'wireLength', 'tsSec', 'tsNsec', 'inPort', 'outPort', 'vni', 'drop', 'flags', 'l2', 'l3', 'l4', 'innerL2', 'entropy'] as const;

/** First difference between two batches ('' when identical), with the frame it is in. */
function batchDiff(a: PacketBatch, b: PacketBatch): string {
  if (a.count !== b.count) return `count ${a.count} != ${b.count}`;
  for (const f of FIELDS) {
    const x = a[f];
    const y = b[f];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return `${f}[${i}]: ts ${x[i]} native ${y[i]} (ts drop ${dropReason(a.drop[i]) ?? 'none'}, native drop ${dropReason(b.drop[i]) ?? 'none'})`;
  }
  for (let i = 0; i < a.remoteAddr.length; i++) if (a.remoteAddr[i] !== b.remoteAddr[i]) return `remoteAddr[${i}]: ts ${a.remoteAddr[i]} native ${b.remoteAddr[i]}`;
  if (Buffer.compare(a.data, b.data) !== 0) return 'slab bytes differ';
  return '';
}

function countersOf(s: DecapStage): Record<string, number> {
  return { ...s.counters.snapshot(), drops: Array.from(s.counters.drops) as unknown as number };
}

interface Outcome {
  /** TS drop code per frame (0 = alive), in input order. */
  codes: number[];
  ts: DecapStage;
  native: NativeDecapStage;
}

/** Run `frames` through both stages (batches of 256, one stage pair for all); assert identical results. */
function differential(t: Tap.Test, name: string, frames: Frame[], cfg: DecapConfig = {}): Outcome {
  const ts = new DecapStage(cfg);
  const native = new NativeDecapStage(cfg);
  const codes: number[] = [];
  let diff = '';
  for (let from = 0; from < frames.length && diff === ''; from += CAP) {
    const a = fillBatch(frames, from);
    const b = fillBatch(frames, from);
    ts.process(a);
    native.process(b);
    diff = batchDiff(a, b);
    if (diff !== '') {
      const m = /\[(\d+)\]/.exec(diff);
      const i = m ? Number(m[1]) >> (diff.startsWith('remoteAddr') ? 2 : 0) : -1;
      if (i >= 0 && i < a.count) diff += `; input frame ${from + i}: ${Buffer.from(frames[from + i].data).toString('hex')}`;
    }
    for (let i = 0; i < a.count; i++) codes.push(a.drop[i]);
  }
  t.equal(diff, '', `${name}: batches identical after TS and native decap (${frames.length} frames)`);
  t.same(countersOf(native), countersOf(ts), `${name}: counters identical`);
  return { codes, ts, native };
}

/** Frames per outcome name ('ok' or the drop reason) from TS's drop codes, skipping pre-dropped ones. */
function histogram(o: Outcome, frames?: Frame[]): Record<string, number> {
  const h: Record<string, number> = {};
  o.codes.forEach((c, k) => {
    if (frames?.[k].preDrop) return;
    const key = c === 0 ? 'ok' : (dropReason(c) ?? `code-${c}`);
    h[key] = (h[key] ?? 0) + 1;
  });
  return h;
}

// ------------------------------------------------------------------ inputs

/** Every record of a capture (as far as the reader gets: malformed files stop early). */
function captureRecords(path: string): Frame[] {
  const out: Frame[] = [];
  let r;
  try {
    r = openCapture(path);
  } catch {
    return out;
  }
  try {
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      if (rec.caplen > 9216) continue;
      out.push({ data: Uint8Array.from(rec.data.subarray(rec.offset, rec.offset + rec.caplen)), wire: rec.len });
    }
  } catch {
    // A malformed capture: keep the records read before the error.
  } finally {
    try { r.close(); } catch { /* already closed */ }
  }
  return out;
}

function capturesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...capturesUnder(p));
    else if (/\.(pcap|pcapng|cap|trace)$/i.test(e)) out.push(p);
  }
  return out;
}

function innerFrame(size: number, k: number): Uint8Array {
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, (k >> 8) & 0xff, k & 0xff, 0x08, 0x00], 0);
  if (size >= 34) f.set([0x45, 0, (size - 14) >> 8, (size - 14) & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, (k >> 8) & 0xff, k & 0xff], 14);
  if (size >= 38) f.set([(1000 + k) >> 8, (1000 + k) & 0xff, 0, 80], 34);
  for (let j = 38; j < size; j++) f[j] = (j * 31 + k) & 0xff;
  return f;
}

function encapCfg(type: TunnelType, v6: boolean, extra: Partial<EncapConfig> = {}): EncapConfig {
  return {
    type,
    vni: 4242,
    local: v6 ? '2001:db8::1' : '192.0.2.1',
    remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }, { ip: v6 ? '2001:db8::3:4' : '198.51.100.7' }],
    mtu: 9000,
    ...extra,
  };
}

/** EncapStage output for each input frame (remote k % 2): the bytes a peer VTEP would send. */
function encap(cfg: EncapConfig, inners: Uint8Array[]): Uint8Array[] {
  const st = new EncapStage(cfg);
  const b = new PacketBatch({ capacity: inners.length, headroom: 512, dataRoom: 9216 });
  inners.forEach((f, k) => {
    b.append(f, 0, f.length, f.length, 0, 0);
    b.outPort[k] = k % 2;
  });
  st.process(b);
  if (st.counters.totalDrops() !== 0) throw new Error(`encap dropped frames: ${JSON.stringify(st.counters.snapshot())}`);
  return Array.from({ length: b.count }, (_, k) => Uint8Array.from(b.frame(k)));
}

const SIZES = [14, 20, 60, 64, 128, 1000, 1400];
const inners = SIZES.map((s, k) => innerFrame(s, k));
const KINDS: [TunnelType, boolean][] = [['vxlan', false], ['vxlan', true], ['geneve', false], ['geneve', true], ['nvgre', false], ['nvgre', true]];
const GENEVE_OPTS = [{ optClass: 0x0102, type: 0x05, data: Uint8Array.of(1, 2, 3, 4) }, { optClass: 0xffff, type: 0x01, data: new Uint8Array(8) }];
const GENEVE_CRIT = [{ optClass: 0x0102, type: 0x85, data: Uint8Array.of(9, 9, 9, 9) }];

function tunnelled(type: TunnelType, v6: boolean, extra: Partial<EncapConfig> = {}, frames = inners): Uint8Array[] {
  return encap(encapCfg(type, v6, { geneveOptions: type === 'geneve' ? GENEVE_OPTS : undefined, ...extra }), frames);
}

/** `levels` tunnel kinds applied inside out (levels[0] innermost). */
function nested(levels: [TunnelType, boolean][], frames = inners): Uint8Array[] {
  let fs = frames;
  for (const [type, v6] of levels) fs = tunnelled(type, v6, {}, fs);
  return fs;
}

/** Offset of the outer L3 header after any VLAN tags (-1 when past the frame). */
function l3Of(f: Uint8Array): number {
  let p = 12;
  while (p + 2 <= f.length && [0x8100, 0x88a8, 0x9100].includes((f[p] << 8) | f[p + 1])) p += 4;
  return p + 2 <= f.length ? p + 2 : -1;
}

function fixIp4Csum(f: Uint8Array): void {
  const p = l3Of(f);
  if (p < 0 || p + 20 > f.length || f[p] >> 4 !== 4 || ((f[p - 2] << 8) | f[p - 1]) !== 0x0800) return;
  const ihl = (f[p] & 15) << 2;
  if (ihl < 20 || p + ihl > f.length) return;
  f[p + 10] = 0;
  f[p + 11] = 0;
  let s = 0;
  for (let k = 0; k < ihl; k += 2) s += (f[p + k] << 8) | f[p + k + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  f[p + 10] = (~s >> 8) & 0xff;
  f[p + 11] = ~s & 0xff;
}

function splice(f: Uint8Array, at: number, ins: number[]): Uint8Array {
  const o = new Uint8Array(f.length + ins.length);
  o.set(f.subarray(0, at), 0);
  o.set(ins, at);
  o.set(f.subarray(at), at + ins.length);
  return o;
}

/** Insert VLAN tags (TPIDs in order) in front of the ethertype. */
function withVlans(f: Uint8Array, tpids: number[]): Uint8Array {
  const tags: number[] = [];
  for (const [k, tp] of tpids.entries()) tags.push(tp >> 8, tp & 0xff, 0, 10 + k);
  return splice(f, 12, tags);
}

/** IPv6 outer: insert extension headers (0 hop-by-hop, 43 routing, 60 dest opts, 44 fragment with `fragOff`). */
function withV6Ext(f: Uint8Array, exts: number[], fragOff = 0): Uint8Array {
  const p = l3Of(f);
  let nh = f[p + 6];
  const bytes: number[] = [];
  for (let k = exts.length - 1; k >= 0; k--) {
    const e = exts[k];
    const h = e === 44 ? [nh, 0, (fragOff >> 8) & 0xff, fragOff & 0xf8, 0, 0, 0, 1] : [nh, 1, 1, 4, 0, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0];
    bytes.unshift(...h);
    nh = e;
  }
  const o = splice(f, p + 40, bytes);
  o[p + 6] = nh;
  const pl = ((o[p + 4] << 8) | o[p + 5]) + bytes.length;
  o[p + 4] = pl >> 8;
  o[p + 5] = pl & 0xff;
  return o;
}

/** IPv4 outer: add `words` 4-byte option words (NOPs), fix IHL, total length and checksum. */
function withV4Options(f: Uint8Array, words: number): Uint8Array {
  const p = l3Of(f);
  const o = splice(f, p + 20, new Array<number>(words * 4).fill(1));
  o[p] = 0x40 | (5 + words);
  const tl = ((o[p + 2] << 8) | o[p + 3]) + words * 4;
  o[p + 2] = tl >> 8;
  o[p + 3] = tl & 0xff;
  fixIp4Csum(o);
  return o;
}

/** IPv4 outer: set the fragment field (flags + offset words), checksum fixed. */
function withV4Frag(f: Uint8Array, field: number): Uint8Array {
  const o = Uint8Array.from(f);
  const p = l3Of(o);
  o[p + 6] = field >> 8;
  o[p + 7] = field & 0xff;
  fixIp4Csum(o);
  return o;
}

const fr = (fs: Uint8Array[]): Frame[] => fs.map((data) => ({ data }));

// ------------------------------------------------------------------ addon

t.test('addon has the decap exports the offload probe looks for', (t) => {
  const addon = loadNativeDecap();
  for (const k of ['DecapCore', 'vxlanDecapBatch', 'geneveDecapBatch', 'nvgreDecapBatch'] as const) t.type(addon[k], 'function', k);
  t.end();
});

t.test('construction without the addon or its decap exports is a clear Error', (t) => {
  // A fresh node (the addon is loaded once per process), with tap's TypeScript loader only.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ndecap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, `import { NativeDecapStage } from ${JSON.stringify(join(ROOT, 'src/tunnel/native-decap.ts'))};\n` +
    "try { new NativeDecapStage(); console.log('constructed'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }\n");
  const run = (addon: string) => spawnSync(process.execPath, [...loader, probe], { encoding: 'utf8', env: { ...process.env, VTEPD_NATIVE: addon } }).stdout.trim();
  t.match(run(join(dir, 'missing.node')), /^Error: native decap needs the vtepd addon: .*is not built/, 'addon missing');
  const other = join(ROOT, 'node_modules/cap/build/Release/cap.node');
  if (existsSync(other)) t.equal(run(other), 'Error: native decap: the vtepd addon lacks DecapCore, vxlanDecapBatch, geneveDecapBatch, nvgreDecapBatch (rebuild it: npm run build:native)', 'another addon');
  t.equal(run(join(ROOT, 'native-bindings/build/Release/vtepd_native.node')), 'constructed', 'the real addon');
  t.end();
});

// ------------------------------------------------------------------ fixtures

const fixtureDir = join(ROOT, 'fixtures');
const fixtureFiles = capturesUnder(fixtureDir);
const fixtureFrames: Frame[] = fixtureFiles.flatMap((p) => captureRecords(p));

const CONFIGS: [string, DecapConfig][] = [
  ['default', {}],
  ['keepOther', { keepOther: true }],
  ['verifyUdpCsum', { verifyUdpCsum: true }],
  ['zeroCsum6Rx', { zeroCsum6Rx: true }],
  ['no IPv4 csum check', { verifyIp4Csum: false }],
  ['no NVGRE', { nvgre: false }],
  ['maxDepth 2', { maxDepth: 2 }],
  ['maxDepth 3 keepOther', { maxDepth: 3, keepOther: true }],
  ['maxDepth 8', { maxDepth: 8 }],
  ['VNI filter', { vnis: [100, 4242, 0x123456] }],
  ['VNI kinds', { networks: [{ vni: 100, type: 'vxlan' }, { vni: 4242, type: 'geneve' }, { vni: 0x123456, type: 'nvgre' }] }],
  ['other ports', { vxlanPorts: [4789, 8472], genevePorts: [6081, 4790] }],
  ['GENEVE known 0:0x80', { geneveKnownOptions: [{ optClass: 0, type: 0x80 }] }],
];

t.test('fixtures/: every capture, every config switch', (t) => {
  t.ok(fixtureFiles.some((f) => f.includes('/bad/')), 'fixtures/bad read too');
  t.ok(fixtureFrames.length > 50, `${fixtureFrames.length} frames from ${fixtureFiles.length} captures`);
  t.ok(fixtureFrames.some((f) => (f.wire ?? 0) > f.data.length), 'some frames are truncated captures');
  for (const [name, cfg] of CONFIGS) {
    const o = differential(t, name, fixtureFrames, cfg);
    if (name === 'default') {
      const h = histogram(o);
      t.ok(h.ok > 10 && h['not-tunnel'] > 0, `default: decapped and not-tunnel frames present ${JSON.stringify(h)}`);
    }
  }
  t.end();
});

// ------------------------------------------------------------------ encap output

t.test('EncapStage output: VXLAN, GENEVE, NVGRE over IPv4 and IPv6', (t) => {
  for (const [type, v6] of KINDS) {
    for (const vlan of [undefined, 7]) {
      const frames = fr(tunnelled(type, v6, { vlan }));
      const o = differential(t, `${type} ${v6 ? 'ip6' : 'ip4'}${vlan ? ' vlan' : ''}`, frames);
      t.same(histogram(o), { ok: frames.length }, 'all decapped');
      // Inner frames restored (proves the comparison is over real decap work).
      const b = fillBatch(frames, 0);
      o.native.process(b);
      t.same(Array.from({ length: b.count }, (_, k) => Buffer.from(b.frame(k)).toString('hex')), inners.map((f) => Buffer.from(f).toString('hex')), 'native restores the inner frames');
      t.ok(Array.from(b.flags.subarray(0, b.count)).every((f) => (f & PacketFlag.DECAPPED) !== 0 && ((f & PacketFlag.REMOTE_V6) !== 0) === v6), 'DECAPPED / REMOTE_V6 flags');
    }
  }
  t.end();
});

t.test('keepOther on/off with non-tunnel frames mixed in', (t) => {
  const frames = fr([...inners, ...tunnelled('vxlan', false), ...tunnelled('nvgre', true), ...inners]);
  const off = histogram(differential(t, 'keepOther off', frames));
  t.equal(off['not-tunnel'], inners.length * 2, 'non-tunnel dropped');
  const on = differential(t, 'keepOther on', frames, { keepOther: true });
  t.same(histogram(on), { ok: frames.length }, 'non-tunnel passed');
  t.equal(on.native.counters.passedOther, inners.length * 2, 'passed counted');
  t.end();
});

t.test('UDP checksums: verifyUdpCsum on/off, IPv6 zero checksum with/without zeroCsum6Rx', (t) => {
  // Odd inner sizes too: the checksum's odd tail byte.
  const odd = [...inners, innerFrame(61, 9), innerFrame(1001, 10)];
  const good = tunnelled('vxlan', false, { udpCsum: true }, odd);
  const good6 = tunnelled('geneve', true, {}, odd);
  // One payload byte changed after the checksum was computed.
  const bad = [...good, ...good6].map((f) => {
    const o = Uint8Array.from(f);
    o[o.length - 1] ^= 0x5a;
    return o;
  });
  const zero6 = [...tunnelled('vxlan', true, { zeroCsum6Tx: true }), ...tunnelled('geneve', true, { zeroCsum6Tx: true })];
  const frames = fr([...good, ...good6, ...bad, ...zero6]);
  const n = good.length;
  t.equal(zero6.length, 2 * inners.length);
  for (const verify of [false, true]) {
    for (const z of [false, true]) {
      const h = histogram(differential(t, `verifyUdpCsum ${verify} zeroCsum6Rx ${z}`, frames, { verifyUdpCsum: verify, zeroCsum6Rx: z }));
      t.equal(h['udp-bad-checksum'] ?? 0, verify ? 2 * n : 0, 'bad checksums caught only when verifying');
      t.equal(h['udp6-zero-checksum'] ?? 0, z ? 0 : zero6.length, 'IPv6 zero checksum refused unless zeroCsum6Rx');
    }
  }
  t.end();
});

t.test('VNI filter (outermost level)', (t) => {
  const frames = fr([...tunnelled('vxlan', false), ...encap(encapCfg('nvgre', true, { vni: 77 }), inners), ...nested([['geneve', false], ['vxlan', true]])]);
  for (const vnis of [[4242], [77], [1, 2, 3], [4242, 77]]) {
    for (const maxDepth of [1, 2]) {
      const h = histogram(differential(t, `vnis ${vnis} depth ${maxDepth}`, frames, { vnis, maxDepth }));
      t.ok((h['unknown-vni'] ?? 0) > 0 || vnis.length === 2, `unknown-vni seen ${JSON.stringify(h)}`);
    }
  }
  t.end();
});

t.test('VNI kinds: a frame of another type than its network is dropped the same, behind any outer tag', (t) => {
  const tag = (f: Uint8Array, tpid: number): Uint8Array => {
    const g = new Uint8Array(f.length + 4);
    g.set(f.subarray(0, 12), 0);
    g.set([tpid >> 8, tpid & 0xff, 0, 9], 12);
    g.set(f.subarray(12), 16);
    return g;
  };
  const plain = [...tunnelled('vxlan', false), ...tunnelled('geneve', true), ...tunnelled('nvgre', false), ...nested([['geneve', false], ['vxlan', true]])];
  const frames = fr([...plain, ...plain.map((f) => tag(f, 0x8100)), ...plain.map((f) => tag(f, 0x9100)), ...plain.map((f) => tag(tag(f, 0x8100), 0x88a8))]);
  for (const type of ['vxlan', 'geneve', 'nvgre'] as const) {
    for (const maxDepth of [1, 2]) {
      const h = histogram(differential(t, `VNI 4242 is ${type}, depth ${maxDepth}`, frames, { networks: [{ vni: 4242, type }], maxDepth }));
      t.ok((h['tunnel-type-mismatch'] ?? 0) > 0 && h.ok > 0, `mismatches and accepted frames seen ${JSON.stringify(h)}`);
    }
  }
  t.end();
});

t.test('GENEVE critical options known / unknown', (t) => {
  const frames = fr(tunnelled('geneve', false, { geneveOptions: [...GENEVE_OPTS, ...GENEVE_CRIT] }));
  const unknown = histogram(differential(t, 'critical unknown', frames));
  t.same(unknown, { 'geneve-critical-option': frames.length });
  const known = histogram(differential(t, 'critical known', frames, { geneveKnownOptions: [{ optClass: 0x0102, type: 0x85 }] }));
  t.same(known, { ok: frames.length });
  differential(t, 'other known', frames, { geneveKnownOptions: [{ optClass: 0x0102, type: 0x05 }, { optClass: 0x0103, type: 0x85 }] });
  t.end();
});

t.test('nested tunnels with maxDepth 1/2/3', (t) => {
  const two = nested([['vxlan', false], ['geneve', true]]);
  const three = nested([['nvgre', false], ['vxlan', true], ['geneve', false]]);
  const four = nested([['vxlan', false], ['vxlan', false], ['nvgre', true], ['geneve', true]]);
  const frames = fr([...tunnelled('vxlan', false), ...two, ...three, ...four]);
  const seen = new Set<string>();
  for (const maxDepth of [1, 2, 3, 4]) {
    for (const keepOther of [false, true]) {
      const h = histogram(differential(t, `depth ${maxDepth} keepOther ${keepOther}`, frames, { maxDepth, keepOther }));
      Object.keys(h).forEach((k) => seen.add(k));
    }
  }
  t.ok(seen.has('nested-too-deep') && seen.has('ok'), 'nested-too-deep and decapped both seen');
  t.end();
});

// Hand-made edge frames: the header shapes EncapStage does not make.
function edgeFrames(): Frame[] {
  const v4 = tunnelled('vxlan', false).slice(2, 4);
  const v6 = tunnelled('vxlan', true).slice(2, 4);
  const g6 = tunnelled('nvgre', true).slice(2, 3);
  const out: Uint8Array[] = [];
  for (const f of v6) {
    for (const exts of [[0], [0, 60], [43], [44], [0, 43, 60, 44], [0, 60, 60, 43, 60]]) {
      out.push(withV6Ext(f, exts), withV6Ext(f, exts, 8));
    }
  }
  for (const f of g6) out.push(withV6Ext(f, [60]), withV6Ext(f, [44], 16));
  for (const f of v4) {
    out.push(withV4Options(f, 1), withV4Options(f, 10));
    for (const field of [0x4000, 0x2000, 0x0001, 0x2010, 0x8000]) out.push(withV4Frag(f, field));
    const bad = Uint8Array.from(f);
    bad[l3Of(bad)] = 0x44; // IHL 4
    fixIp4Csum(bad);
    out.push(bad);
  }
  // Tunnel header and nothing behind it: IP / UDP lengths cut to end there.
  for (const [f, hdr] of [[v4[0], 50], [v6[0], 70], [g6[0], 62]] as [Uint8Array, number][]) {
    const z = f.slice(0, hdr);
    const p = l3Of(z);
    const v6z = z[p] >> 4 === 6;
    const ipLen = hdr - p - (v6z ? 40 : 0);
    z[p + (v6z ? 4 : 2)] = ipLen >> 8;
    z[p + (v6z ? 5 : 3)] = ipLen & 0xff;
    if (z[p + (v6z ? 6 : 9)] === 17) z.set([0, 16], p + (v6z ? 44 : 24));
    fixIp4Csum(z);
    out.push(z);
  }
  for (const f of [...v4, ...v6]) {
    out.push(withVlans(f, [0x88a8, 0x8100]), withVlans(f, [0x9100, 0x8100, 0x8100, 0x8100]), withVlans(f, [0x8100, 0x8100, 0x8100, 0x8100, 0x8100]));
  }
  return fr(out);
}

t.test('edge frames: IPv6 extension headers, IPv4 options and fragments, VLAN stacks', (t) => {
  const frames = edgeFrames();
  for (const [name, cfg] of CONFIGS) differential(t, name, frames, cfg);
  const h = histogram(differential(t, 'default', frames));
  for (const r of ['ok', 'ip-fragment', 'ip-bad-header', 'not-tunnel']) t.ok(h[r] > 0, `${r} seen ${JSON.stringify(h)}`);
  t.equal(h['zero-payload'], 3, 'the three empty tunnels');
  t.end();
});

t.test('truncated captures: length lies remapped to truncated only when TRUNCATED is set', (t) => {
  const base = [...tunnelled('vxlan', false), ...tunnelled('geneve', true), ...tunnelled('nvgre', false)];
  const frames: Frame[] = [];
  for (const f of base) {
    for (const cut of [1, 8, 30, f.length >> 1]) {
      if (cut >= f.length) continue;
      frames.push({ data: f.subarray(0, f.length - cut), wire: f.length }, { data: f.subarray(0, f.length - cut) });
    }
  }
  const h = histogram(differential(t, 'cut frames', frames));
  t.ok(h.truncated > 0 && h['ip-bad-length'] > 0, `truncated and ip-bad-length both seen ${JSON.stringify(h)}`);
  t.end();
});

t.test('frames dropped upstream are skipped; stale flags kept or cleared as TS does', (t) => {
  const base = [...tunnelled('vxlan', true), ...inners];
  const frames: Frame[] = base.map((data, k) => ({ data, preDrop: k % 3 === 0 ? 1 + (k % 40) : 0, flags: k % 2 ? PacketFlag.FLOOD | PacketFlag.REMOTE_V6 : PacketFlag.TRUNCATED }));
  const o = differential(t, 'pre-dropped', frames);
  t.equal(o.native.counters.inFrames, frames.filter((f) => !f.preDrop).length, 'only alive frames counted in');
  t.end();
});

t.test('the three exports run the same stage (raw calls against TS)', (t) => {
  const addon = loadNativeDecap();
  const cfg: DecapConfig = { maxDepth: 2, keepOther: false };
  const frames = [...fixtureFrames.slice(0, 200), ...edgeFrames(), ...fr(nested([['vxlan', false], ['nvgre', true]]))];
  const want = fillBatch(frames, 0);
  const ts = new DecapStage(cfg);
  ts.process(want);
  for (const fn of ['vxlanDecapBatch', 'geneveDecapBatch', 'nvgreDecapBatch'] as const) {
    const counts = new Uint32Array(COUNTS_LEN);
    const core = new addon.DecapCore(resolveDecapConfig(cfg), counts);
    const b = fillBatch(frames, 0);
    addon[fn](core, nativeBatchView(b), b.count);
    t.equal(batchDiff(want, b), '', `${fn}: batch as TS leaves it`);
    t.equal(counts[COUNTS_IN], ts.counters.inFrames, `${fn}: in`);
    t.equal(counts[COUNTS_OUT], ts.counters.outFrames, `${fn}: out`);
    t.same(Array.from(counts.subarray(COUNTS_DROPS)), Array.from(ts.counters.drops), `${fn}: drops by code`);
  }
  t.end();
});

// ------------------------------------------------------------------ fuzz

/** mulberry32: small seeded PRNG, so a failure reproduces. */
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

/** Offsets of the length fields of the outermost headers (IPv4 total length, IPv6 payload length, UDP length). */
function lengthFields(f: Uint8Array): number[] {
  const p = l3Of(f);
  if (p < 0 || p + 40 > f.length) return [];
  if (f[p] >> 4 === 4) {
    const l4 = p + ((f[p] & 15) << 2);
    return f[p + 9] === 17 ? [p + 2, l4 + 4] : [p + 2];
  }
  return f[p + 6] === 17 ? [p + 4, p + 44] : [p + 4];
}

t.test('fuzz: seeded mutations of valid tunnel frames, TS vs native', (t) => {
  const rand = rng(0x7e9d);
  const ri = (n: number) => Math.floor(rand() * n);
  const bases: Uint8Array[] = [
    ...KINDS.flatMap(([ty, v6]) => tunnelled(ty, v6, { udpCsum: !v6 && ty !== 'nvgre' }).slice(1, 5)),
    ...tunnelled('geneve', false, { geneveOptions: [...GENEVE_OPTS, ...GENEVE_CRIT] }).slice(2, 4),
    ...tunnelled('vxlan', false, { vlan: 9 }).slice(2, 3),
    ...nested([['vxlan', false], ['geneve', true]]).slice(2, 4),
    ...nested([['nvgre', true], ['vxlan', false], ['geneve', false]]).slice(2, 3),
    ...edgeFrames().map((f) => f.data).filter((_, k) => k % 3 === 0),
  ];
  const N = 4000;
  const frames: Frame[] = [];
  for (let k = 0; k < N; k++) {
    let f = Uint8Array.from(bases[ri(bases.length)]);
    let wire = f.length;
    const steps = 1 + ri(3);
    for (let s = 0; s < steps; s++) {
      const m = ri(6);
      if (m === 0) {
        // Bit flips in the headers (where every check lives).
        for (let j = 1 + ri(3); j > 0; j--) {
          const at = ri(Math.min(f.length, 200));
          f[at] ^= 1 << ri(8);
        }
      } else if (m === 1) {
        f[ri(f.length)] ^= 1 << ri(8);
      } else if (m === 2) {
        const len = ri(f.length + 1);
        // Half cut by the capture (wire length kept: TRUNCATED), half sent short.
        if (rand() < 0.5) wire = len;
        f = f.slice(0, len);
      } else if (m === 3) {
        // Length-field lie: random, or off by a little.
        const fields = lengthFields(f);
        if (fields.length) {
          const at = fields[ri(fields.length)];
          const cur = (f[at] << 8) | f[at + 1];
          const v = rand() < 0.5 ? ri(65536) : Math.max(0, Math.min(65535, cur + ri(33) - 16));
          f[at] = v >> 8;
          f[at + 1] = v & 0xff;
        }
      } else if (m === 4) {
        f[ri(Math.min(f.length, 120))] = ri(256);
      } else {
        // Grow the frame with junk behind the IP packet (Ethernet padding-like).
        const pad = new Uint8Array(f.length + 1 + ri(40));
        pad.set(f);
        f = pad;
      }
    }
    if (rand() < 0.6) fixIp4Csum(f); // else most mutations would stop at the IPv4 checksum
    frames.push({ data: f, wire: Math.max(wire, f.length), preDrop: rand() < 0.02 ? 3 : 0 });
  }
  const total: Record<string, number> = {};
  const fuzzConfigs: DecapConfig[] = [
    {},
    { keepOther: true, maxDepth: 3 },
    { verifyUdpCsum: true, zeroCsum6Rx: true, maxDepth: 2 },
    { verifyIp4Csum: false, vnis: [4242], geneveKnownOptions: [{ optClass: 0x0102, type: 0x85 }], maxDepth: 8 },
    { nvgre: false, vxlanPorts: [4789, 8472], genevePorts: [6081, 4790] },
  ];
  for (const [k, cfg] of fuzzConfigs.entries()) {
    const h = histogram(differential(t, `fuzz config ${k} ${JSON.stringify(cfg)}`, frames, cfg), frames);
    for (const [r, n] of Object.entries(h)) total[r] = (total[r] ?? 0) + n;
  }
  const reasons = Object.keys(total).filter((r) => r !== 'ok');
  t.ok(total.ok > N / 10, `many mutants still decap (${total.ok})`);
  t.ok(reasons.length >= 15, `${reasons.length} distinct drop reasons reached: ${JSON.stringify(total)}`);
  t.end();
});

// ------------------------------------------------------------------ external captures

const ext = join(ROOT, '..', 'shared', 'fixtures', 'external');
t.test('external captures (../shared/fixtures/external)', { skip: existsSync(ext) ? false : `${ext} is absent` }, (t) => {
  const frames = capturesUnder(ext).flatMap((p) => captureRecords(p));
  t.ok(frames.length > 100, `${frames.length} frames`);
  for (const [name, cfg] of CONFIGS) differential(t, name, frames, cfg);
  t.end();
});

// ------------------------------------------------------------------ hostile

t.test('hostile: frames outside their slot are dropped as truncated, never read', (t) => {
  const good = tunnelled('vxlan', false);
  const frames = fr([...good, ...good, ...good]);
  const b = fillBatch(frames, 0);
  const slot = b.slotSize;
  const lies: [number, number][] = [
    [0, 0xffffffff], // length past everything
    [0xffffffff, 100], // offset past the slab
    [0xfffffff0, 0x20], // offset + length wraps 32 bits
    [slot * 5 + 200, 60], // inside a neighbouring slot (frame 3 is in slot 3)
    [slot * 4 - 10, 60], // starts in its slot, runs into the next
    [slot * 100000, 64],
  ];
  lies.forEach(([o, l], k) => {
    b.offset[k] = o;
    b.length[k] = l;
  });
  const st = new NativeDecapStage();
  st.process(b);
  for (let k = 0; k < lies.length; k++) t.equal(dropReason(b.drop[k]), 'truncated', `lie ${k} dropped as truncated`);
  for (let k = lies.length; k < b.count; k++) t.equal(b.drop[k], 0, `frame ${k} decapped`);
  t.equal(st.counters.drops[TunnelDrop.truncated], lies.length, 'counted');
  t.equal(st.counters.outFrames, b.count - lies.length);
  t.end();
});

t.test('hostile: bad counts, handles and configs are errors, not crashes', (t) => {
  const addon = loadNativeDecap();
  const b = fillBatch(fr(tunnelled('vxlan', false)), 0);
  const view = nativeBatchView(b);
  const counts = new Uint32Array(COUNTS_LEN);
  const resolved = resolveDecapConfig({});
  const core = new addon.DecapCore(resolved, counts);
  const call = addon.vxlanDecapBatch as unknown as (...a: unknown[]) => void;
  t.throws(() => call(core, view, CAP + 1), RangeError, 'count > capacity');
  t.throws(() => call(core, view, -1), RangeError, 'negative count');
  t.throws(() => call(core, view, 1.5), RangeError, 'fractional count');
  t.throws(() => call(core, view, '3'), TypeError, 'count not a number');
  t.throws(() => call(view, view, 1), TypeError, 'BatchView as the core');
  t.throws(() => call({}, view, 1), TypeError, 'plain object as the core');
  t.throws(() => call(undefined, view, 1), TypeError, 'no core');
  t.throws(() => call(core, core, 1), TypeError, 'core as the view');
  t.throws(() => call(core, b, 1), TypeError, 'PacketBatch instead of its view');
  t.throws(() => call(), TypeError, 'no arguments');
  t.same(Array.from(counts), new Array<number>(counts.length).fill(0), 'nothing counted by refused calls');
  call(core, view, 0);
  t.equal(counts[COUNTS_IN], 0, 'count 0: nothing done');

  const Core = addon.DecapCore as unknown as new (...a: unknown[]) => unknown;
  t.throws(() => new Core({ ...resolved, portType: new Uint8Array(100) }, counts), RangeError, 'short port table');
  t.throws(() => new Core({ ...resolved, portType: new Uint16Array(65536) }, counts), TypeError, 'port table of the wrong type');
  t.throws(() => new Core({ ...resolved, portType: new Uint8Array(65536).fill(3) }, counts), RangeError, 'port table with a kind that is not UDP');
  t.throws(() => new Core({ ...resolved, vniKind: new Uint32Array(5) }, counts), RangeError, 'short VNI kind table');
  t.throws(() => new Core({ ...resolved, maxDepth: 0 }, counts), RangeError, 'maxDepth 0');
  t.throws(() => new Core({ ...resolved, maxDepth: 9 }, counts), RangeError, 'maxDepth 9');
  t.throws(() => new Core({ ...resolved, keepOther: 1 }, counts), TypeError, 'non-boolean switch');
  t.throws(() => new Core({ ...resolved, checkKind: 'yes' }, counts), TypeError, 'non-boolean checkKind');
  t.throws(() => new Core({ ...resolved, geneveKnown: [1, 2] }, counts), TypeError, 'known options not an Int32Array');
  t.throws(() => new Core(resolved, new Uint32Array(5)), RangeError, 'counts too short');
  t.throws(() => new Core(resolved, new Float64Array(COUNTS_LEN)), TypeError, 'counts of the wrong type');
  t.throws(() => new Core(resolved), TypeError, 'no counts');
  t.throws(() => new Core(), TypeError, 'no arguments');
  // The drop codes C writes are the registry's: an addon built from other lists is refused.
  t.doesNotThrow(() => checkContract(addon, BATCH_CONTRACT), 'this build matches the TypeScript contract');
  t.throws(() => checkContract({ contract: { batch: '00000000' } }, BATCH_CONTRACT), /built from another 'batch' contract/, 'a stale build is refused');
  t.throws(() => checkContract({}, BATCH_CONTRACT), /rebuild it/, 'an addon without a contract is refused');

  // After all that, the core still works.
  call(core, view, b.count);
  t.equal(counts[COUNTS_OUT], b.count, 'core decaps the batch');
  t.end();
});

t.test('hostile: random metadata (offsets, lengths, drops, flags) never crashes; in-slot frames match TS', (t) => {
  const rand = rng(0xbad);
  const base = fr([...tunnelled('geneve', true), ...tunnelled('nvgre', false), ...edgeFrames().map((f) => f.data)]);
  for (let round = 0; round < 40; round++) {
    const a = fillBatch(base, 0);
    const slot = a.slotSize;
    const outside: number[] = [];
    for (let i = 0; i < a.count; i++) {
      if (rand() < 0.3) {
        // Random offset/length: in the slot or not.
        a.offset[i] = i * slot + Math.floor(rand() * (slot + 64)) - (rand() < 0.2 ? 1000 : 0);
        a.length[i] = Math.floor(rand() * (rand() < 0.1 ? 0x100000 : 2000));
      }
      if (rand() < 0.1) a.flags[i] = Math.floor(rand() * 65536);
      const lo = i * slot;
      if (a.offset[i] < lo || a.offset[i] + a.length[i] > lo + slot) outside.push(i);
    }
    const b = fillBatch(base, 0);
    for (const f of ['offset', 'length', 'flags'] as const) b[f].set(a[f]);
    // TS only on in-slot frames (it would read other slots for the rest): pre-drop those in its batch.
    for (const i of outside) a.drop[i] = 255;
    const nat = new NativeDecapStage({ maxDepth: 2 });
    nat.process(b);
    new DecapStage({ maxDepth: 2 }).process(a);
    let same = true;
    for (let i = 0; i < a.count; i++) {
      if (outside.includes(i)) {
        if (b.drop[i] !== TunnelDrop.truncated) same = false;
        continue;
      }
      if (a.drop[i] !== b.drop[i] || a.offset[i] !== b.offset[i] || a.length[i] !== b.length[i] || a.vni[i] !== b.vni[i] || a.flags[i] !== b.flags[i]) same = false;
    }
    if (!same) {
      t.fail(`round ${round}: native differs from TS`);
      break;
    }
  }
  t.pass('40 rounds of random metadata: no crash, in-slot frames as TS, out-of-slot ones truncated');
  t.end();
});

/**
 * NativeChecksumStage (checksumBatch in C) against the TypeScript EncapStage:
 * frames encapsulated by EncapStage with udpCsum on (VXLAN and GENEVE over
 * IPv4 and IPv6, NVGRE over IPv4 for the header checksum alone), their outer
 * checksum fields zeroed, then filled in C: the bytes must equal EncapStage's
 * output. Hostile metadata and lying header lengths leave frames untouched and
 * are counted. scapy recomputes the checksums as an independent oracle.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketBatch, NONE } from '../../src/batch/packet-batch.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { NativeChecksumStage, loadNativeChecksum } from '../../src/tunnel/native-checksum.js';
import { nativeAvailable } from '../../src/native/addon.js';
import { nativeBatchView } from '../../src/batch/native-batch.js';
import { fold16, pseudoHeaderSum4, sum16 } from '../../src/packet/checksum.js';
import type { EncapConfig, TunnelType } from '../../src/tunnel/tunnel-config.js';
import { PY } from './fixtures/util.js';

const skip = !nativeAvailable() ? 'native addon not built' : false;

/** Deterministic pseudo-random inner frames, odd and even lengths, IPv4/UDP inside so the flow hash varies. */
function innerFrames(n: number, seed: number): Uint8Array[] {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), x >>> 0);
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const len = k < 4 ? [14, 15, 60, 61][k] : 14 + (rnd() % 1387);
    const f = new Uint8Array(len);
    for (let j = 0; j < len; j++) f[j] = rnd() & 0xff;
    f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
    out.push(f);
  }
  return out;
}

function batchOf(frames: Uint8Array[]): PacketBatch {
  const b = new PacketBatch({ capacity: frames.length, headroom: 128, dataRoom: 2048 });
  for (const f of frames) if (b.append(f, 0, f.length, f.length, 0, 0) < 0) throw new Error('frame does not fit');
  return b;
}

function cfg(type: TunnelType, v6: boolean): EncapConfig {
  return {
    type, vni: 4242, udpCsum: true, mtu: 9000,
    local: v6 ? '2001:db8::1' : '192.0.2.1',
    remotes: [{ ip: v6 ? '2001:db8::2' : '192.0.2.2' }, { ip: v6 ? '2001:db8::77' : '198.51.100.7' }],
    geneveOptions: type === 'geneve' ? [{ optClass: 0x0102, type: 0x01, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] : undefined,
  };
}

/** Encapsulated frames (EncapStage output, checksums as TypeScript computed them). */
function encapsulated(type: TunnelType, v6: boolean, n: number, seed: number): PacketBatch {
  const b = batchOf(innerFrames(n, seed));
  for (let i = 0; i < n; i++) b.outPort[i] = i % 3 === 0 ? 1 : NONE;
  new EncapStage(cfg(type, v6)).process(b);
  return b;
}

function frames(b: PacketBatch): Buffer[] {
  return Array.from({ length: b.count }, (_, i) => Buffer.from(b.frame(i)));
}

/** Zero the outer IPv4 header checksum and (UDP tunnels) the outer UDP checksum. */
function zeroChecksums(b: PacketBatch, v6: boolean, udp: boolean): void {
  for (let i = 0; i < b.count; i++) {
    const o = b.offset[i];
    if (!v6) b.data.fill(0, o + b.l3[i] + 10, o + b.l3[i] + 12);
    if (udp) b.data.fill(0, o + b.l4[i] + 6, o + b.l4[i] + 8);
  }
}

/** Why the scapy oracle cannot run, or false. */
function scapySkip(): string | false {
  if (!existsSync(PY)) return `no ${PY}`;
  return spawnSync(PY, ['-c', 'import scapy.all'], { stdio: 'ignore' }).status === 0 ? false : 'scapy not importable';
}

const CASES: [TunnelType, boolean][] = [['vxlan', false], ['vxlan', true], ['geneve', false], ['geneve', true], ['nvgre', false]];

t.test('C checksums equal the TypeScript EncapStage, byte for byte', { skip }, (t) => {
  const st = new NativeChecksumStage();
  for (const [type, v6] of CASES) {
    const label = `${type} over IPv${v6 ? 6 : 4}`;
    const b = encapsulated(type, v6, 200, type.length * 31 + (v6 ? 7 : 3));
    t.equal(b.drop.reduce((a, d) => a + d, 0), 0, `${label}: EncapStage dropped nothing`);
    const want = frames(b);
    const udp = type !== 'nvgre';
    zeroChecksums(b, v6, udp);
    t.ok(frames(b).some((f, i) => !f.equals(want[i])), `${label}: zeroing changed the frames (the test can fail)`);
    const before = { ...st.counters };
    const filled = st.process(b);
    const nativeOnly = v6 && !udp;
    t.equal(filled, nativeOnly ? 0 : 200, `${label}: every frame filled`);
    t.equal(st.counters.filled - before.filled, filled);
    t.equal(st.counters.bad - before.bad, 0, `${label}: none counted bad`);
    const got = frames(b);
    const diff = got.findIndex((f, i) => !f.equals(want[i]));
    t.equal(diff, -1, `${label}: bytes equal EncapStage output${diff >= 0 ? ` (first difference: frame ${diff}, length ${got[diff].length})` : ''}`);
  }
  t.end();
});

t.test('modes: ip4 only leaves UDP alone, udp only leaves the IPv4 header alone; dropped frames untouched', { skip }, (t) => {
  const ref = encapsulated('vxlan', false, 20, 99);
  const want = frames(ref);
  for (const [opts, ipRight, udpRight] of [[{ udp: false }, true, false], [{ ip4: false }, false, true]] as const) {
    const b = encapsulated('vxlan', false, 20, 99);
    zeroChecksums(b, false, true);
    b.drop[3] = 7;
    const st = new NativeChecksumStage(opts);
    t.equal(st.process(b), 19, `${JSON.stringify(opts)}: 19 alive frames filled`);
    for (let i = 0; i < 20; i++) {
      const f = b.frame(i);
      const w = want[i];
      const alive = i !== 3;
      const ipCs = (f[24] << 8) | f[25];
      const udpCs = (f[40] << 8) | f[41];
      {
        t.equal(ipCs, alive && ipRight ? (w[24] << 8) | w[25] : 0, `${JSON.stringify(opts)} frame ${i}: IPv4 checksum`);
        t.equal(udpCs, alive && udpRight ? (w[40] << 8) | w[41] : 0, `${JSON.stringify(opts)} frame ${i}: UDP checksum`);
      }
    }
  }
  t.throws(() => new NativeChecksumStage({ ip4: false, udp: false }), /nothing to compute/);
  const b = encapsulated('vxlan', false, 2, 1);
  const fn = loadNativeChecksum().checksumBatch;
  t.throws(() => fn(nativeBatchView(b), 2, 0), RangeError, 'mode 0 refused');
  t.throws(() => fn(nativeBatchView(b), 2, 4), RangeError, 'unknown mode bit refused');
  t.throws(() => fn(nativeBatchView(b), 3, 3), RangeError, 'count beyond capacity refused');
  t.throws(() => fn({} as never, 2, 3), TypeError, 'a plain object is not a BatchView');
  t.end();
});

t.test('a UDP checksum that computes to 0 is sent as 0xffff (RFC 768)', { skip }, (t) => {
  // IPv4/UDP frame whose last payload word is chosen so the sum is 0xffff (checksum 0).
  const f = new Uint8Array(14 + 20 + 8 + 10);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 38, 0, 1, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2], 14);
  f.set([0x12, 0x34, 0x12, 0xb5, 0, 18, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], 34);
  const s = fold16(sum16(f, 34, 16, pseudoHeaderSum4(f, 26, 30, 17, 18)));
  const w = 0xffff - s;
  f[50] = w >>> 8;
  f[51] = w & 0xff;
  t.equal(fold16(sum16(f, 34, 18, pseudoHeaderSum4(f, 26, 30, 17, 18))), 0xffff, 'built so the checksum is 0');
  const b = batchOf([f]);
  b.l3[0] = 14;
  b.l4[0] = 34;
  t.equal(new NativeChecksumStage({ ip4: false }).process(b), 1);
  t.same([b.frame(0)[40], b.frame(0)[41]], [0xff, 0xff], 'stored as 0xffff');
  t.end();
});

t.test('hostile metadata and lying header lengths: no crash, frame untouched, counted', { skip }, (t) => {
  type Case = [string, (b: PacketBatch, i: number, d: Uint8Array, o: number) => void, 'bad' | 'skipped'];
  const cases: Case[] = [
    ['l4 past the end of the frame', (b, i) => { b.l4[i] = b.length[i] + 100; }, 'bad'],
    ['l4 huge', (b, i) => { b.l4[i] = 0x7fffffff; }, 'bad'],
    ['l4 negative (not NONE)', (b, i) => { b.l4[i] = -5; }, 'bad'],
    ['l4 not where the IP header ends', (b, i) => { b.l4[i] = b.l4[i] + 2; }, 'bad'],
    ['l3 past the end', (b, i) => { b.l3[i] = b.length[i]; }, 'bad'],
    ['l3 negative (not NONE)', (b, i) => { b.l3[i] = -2; }, 'bad'],
    ['IPv4 total length beyond the frame', (_b, _i, d, o) => { d[o + 14 + 2] = 0xff; d[o + 14 + 3] = 0xff; }, 'bad'],
    ['IPv4 total length shorter than the header', (_b, _i, d, o) => { d[o + 14 + 2] = 0; d[o + 14 + 3] = 10; }, 'bad'],
    ['IPv4 IHL below 5', (_b, _i, d, o) => { d[o + 14] = 0x43; }, 'bad'],
    ['IPv4 IHL beyond the frame end', (b, i, d, o) => { d[o + 14] = 0x4f; b.length[i] = 14 + 40; }, 'bad'],
    ['UDP length beyond the IP packet', (_b, _i, d, o) => { d[o + 34 + 4] = 0xff; d[o + 34 + 5] = 0xf0; }, 'bad'],
    ['UDP length below 8', (_b, _i, d, o) => { d[o + 34 + 4] = 0; d[o + 34 + 5] = 4; }, 'bad'],
    ['a fragment', (_b, _i, d, o) => { d[o + 14 + 6] = 0x20; }, 'bad'],
    ['frame length cut below the IP header', (b, i) => { b.length[i] = 20; }, 'bad'],
    ['offset outside the slot', (b, i) => { b.offset[i] = b.data.length + 4096; }, 'bad'],
    ['offset in the next slot', (b, i) => { b.offset[i] += b.slotSize; }, 'bad'],
    ['length beyond the slot', (b, i) => { b.length[i] = 0xffffffff; }, 'bad'],
    ['no outer IP (l3 NONE)', (b, i) => { b.l3[i] = NONE; }, 'skipped'],
    ['not IP at l3', (_b, _i, d, o) => { d[o + 14] = 0x15; }, 'skipped'],
  ];
  const st = new NativeChecksumStage();
  for (const [name, spoil, verdict] of cases) {
    const b = encapsulated('vxlan', false, 3, 5);
    zeroChecksums(b, false, true);
    spoil(b, 1, b.data, b.offset[1]);
    const slab = Buffer.from(b.data); // frame 1 must stay exactly as spoiled
    const before = { ...st.counters };
    let filled = -1;
    t.doesNotThrow(() => { filled = st.process(b); }, `${name}: no throw`);
    t.equal(filled, 2, `${name}: the two good frames filled`);
    t.equal(st.counters[verdict] - before[verdict], 1, `${name}: counted ${verdict}`);
    t.equal(st.counters.bad + st.counters.skipped - before.bad - before.skipped, 1, `${name}: counted once`);
    const slot = b.slotSize;
    t.ok(Buffer.from(b.data.subarray(slot, 2 * slot)).equals(slab.subarray(slot, 2 * slot)), `${name}: frame 1's slot untouched`);
  }
  // IPv6: payload length lying.
  const b = encapsulated('vxlan', true, 2, 5);
  zeroChecksums(b, true, true);
  b.data[b.offset[0] + 14 + 4] = 0xff;
  const slab = Buffer.from(b.data.subarray(0, b.slotSize));
  const before = st.counters.bad;
  t.equal(st.process(b), 1, 'IPv6 payload length beyond the frame: the other frame filled');
  t.equal(st.counters.bad - before, 1, 'and the lying one counted bad');
  t.ok(Buffer.from(b.data.subarray(0, b.slotSize)).equals(slab), 'and left untouched');
  t.end();
});

t.test('scapy recomputes the same checksums (independent oracle)', { skip: skip || scapySkip() }, (t) => {
  const hexes: string[] = [];
  for (const [type, v6] of CASES) {
    if (type === 'nvgre') continue; // scapy's GRE binding is the header only; IPv4 checksum covered by the others
    const b = encapsulated(type, v6, 40, 17 + type.length);
    zeroChecksums(b, v6, true);
    new NativeChecksumStage().process(b);
    for (const f of frames(b)) hexes.push(f.toString('hex'));
  }
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ncs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const input = join(dir, 'frames.hex');
  writeFileSync(input, hexes.join('\n') + '\n');
  const script = [
    'import sys, logging',
    'logging.getLogger("scapy").setLevel(logging.ERROR)',
    'from scapy.all import Ether, IP, IPv6, UDP, Raw',
    'bad = 0',
    'n = 0',
    'for line in open(sys.argv[1]):',
    '    raw = bytes.fromhex(line.strip())',
    '    n += 1',
    '    def outer():',
    '        # The outer headers only: the UDP payload as opaque bytes (the inner frame is random data).',
    '        p = Ether(raw)',
    '        u = p.payload.payload',
    '        start = 14 + (p.payload.ihl * 4 if isinstance(p.payload, IP) else 40) + 8',
    '        u.remove_payload()',
    '        u.add_payload(Raw(raw[start:start + u.len - 8]))',
    '        return p',
    '    p = outer()',
    '    have = [p.payload.payload.chksum]',
    '    q = outer(); del q.payload.payload.chksum',
    '    want = [Ether(bytes(q)).payload.payload.chksum]',
    '    if isinstance(p.payload, IP):',
    '        have.append(p.payload.chksum)',
    '        q = outer(); del q.payload.chksum',
    '        want.append(Ether(bytes(q)).payload.chksum)',
    '    if have != want or not isinstance(p.payload.payload, UDP): bad += 1; print("mismatch", n, have, want, file=sys.stderr)',
    'print(n, bad)',
  ].join('\n');
  const r = spawnSync(PY, ['-c', script, input], { encoding: 'utf8' });
  t.equal(r.status, 0, `scapy ran${r.stderr ? ': ' + r.stderr.slice(0, 400) : ''}`);
  t.equal(r.stdout.trim(), `${hexes.length} 0`, 'scapy agrees on every IPv4 header and UDP checksum');
  t.end();
});

t.test('a clear Error when the addon lacks checksumBatch', { skip }, (t) => {
  // An addon stand-in without the export, loaded through VTEPD_NATIVE in a child process.
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ncs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'fake-addon.cjs');
  writeFileSync(fake, 'module.exports = { errnoName: () => "" };\n');
  const mod = new URL('../../src/tunnel/native-checksum.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(mod)}).then((m) => { try { new m.NativeChecksumStage(); console.log('no error'); } catch (e) { console.log(e.message); } })`;
  const r = spawnSync(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, VTEPD_NATIVE: fake } });
  t.match(r.stdout, /the vtepd addon lacks checksumBatch \(rebuild it: npm run build:native\)/, `child said: ${r.stdout.trim() || r.stderr.slice(0, 300)}`);
  t.end();
});

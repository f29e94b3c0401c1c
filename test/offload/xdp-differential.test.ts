/**
 * The xdp plan's underlay program against vtepd's TypeScript decap stage, frame
 * by frame (BPF_PROG_RUN, no timing), on the VXLAN frames of the project's
 * fixtures, of ../shared/fixtures/external/ (skipped when absent), and on
 * seeded mutants of them (bytes flipped, lengths lying, frames cut short).
 *
 * For each frame the maps are set up so that the program would take the fast
 * path: the frame's outer destination is the local address, its VNI a
 * network, its outer source the remote its inner source MAC is behind, and its
 * inner destination MAC on a port. Then:
 * - redirected by the program  => the TypeScript stage decapsulates it too,
 *   to the same bytes;
 * - dropped by the program      => the TypeScript stage drops it, under the
 *   same reason (the program's counter names are the stage's reasons);
 * - passed up (XDP_PASS)        => the slow path, which is the TypeScript
 *   stage itself, decides: nothing to compare.
 * VXLAN, GENEVE and NVGRE frames, each with its network's type in the maps.
 * The port program likewise against the TypeScript encap stage, on inner
 * frames (the fixtures' and their mutants): what it encapsulates is the
 * stage's bytes exactly, its UDP source port included.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { dropReason } from '../../src/tunnel/drop-reasons.js';
import { openXdpPlan, xdpPlanCounters, xdpPlanObjectPath, XDP_PLAN_COUNTERS, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { captureFrames } from '../tunnel/fixtures/util.js';

const skip = process.getuid?.() !== 0 ? 'needs root (BPF_PROG_RUN, map updates)' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built' : false;
const LO = 1;
const EXTERNAL = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'external');
const HOSTILE = new Set<string>(XDP_PLAN_COUNTERS.filter((c) => !c.startsWith('pass-') && !c.endsWith('-redirect')));

const mac = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
const ip4 = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 4)).join('.');

type Kind = 'vxlan' | 'geneve' | 'nvgre';

/** The tunnel of an untagged IPv4 frame with a 20-byte header, by UDP port or GRE protocol: the frames the fast path is for. */
function kindOf(f: Uint8Array): Kind | null {
  if (f.length < 14 + 20 + 8 || f[12] !== 0x08 || f[13] !== 0x00 || f[14] !== 0x45) return null;
  if (f[23] === 47) return ((f[36] << 8) | f[37]) === 0x6558 ? 'nvgre' : null;
  if (f[23] !== 17) return null;
  const dport = (f[36] << 8) | f[37];
  return dport === 4789 ? 'vxlan' : dport === 6081 ? 'geneve' : null;
}

/** The VNI / VSID where each type carries it. */
const vniOf = (f: Uint8Array, k: Kind): number => (k === 'nvgre' ? (f[38] << 16) | (f[39] << 8) | f[40] : (f[46] << 16) | (f[47] << 8) | f[48]);

function tunnelFrames(): { name: string; frames: Buffer[] }[] {
  const own = ['vxlan-ipv4.pcap', 'vxlan-nanos.pcap', 'nested.pcap', 'geneve.pcap', 'nvgre.pcap'].map((f) => join(import.meta.dirname, '..', '..', 'fixtures', f));
  const files = [...own];
  if (existsSync(EXTERNAL)) {
    for (const d of readdirSync(EXTERNAL, { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      for (const f of readdirSync(join(EXTERNAL, d.name))) if (/(vxlan|geneve|nvgre).*\.pcap$/.test(f)) files.push(join(EXTERNAL, d.name, f));
    }
  }
  return files.filter((f) => existsSync(f)).map((f) => ({ name: f.split('/').slice(-2).join('/'), frames: captureFrames(f).map((h) => Buffer.from(h, 'hex')).filter((x) => kindOf(x) !== null) }));
}

/** A tiny seeded PRNG (xorshift32): the same mutants every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
}

/** Mutants of a frame: a byte of the outer headers or the inner Ethernet header changed, a length field lying, the frame cut short. */
function mutants(f: Buffer, rand: () => number, n: number): Buffer[] {
  const out: Buffer[] = [];
  const hdr = Math.min(f.length, 14 + 20 + 8 + 8 + 14);
  for (let k = 0; k < n; k++) {
    const m = Buffer.from(f);
    switch (k % 4) {
      case 0: { const i = 14 + Math.floor(rand() * (hdr - 14)); m[i] ^= 1 + Math.floor(rand() * 255); out.push(m); break; }
      case 1: { const at = [16, 17, 38, 39][Math.floor(rand() * 4)]; m[at] = Math.floor(rand() * 256); out.push(m); break; } // IPv4 total length, UDP length
      case 2: out.push(m.subarray(0, 14 + Math.floor(rand() * (f.length - 14)))); break;
      default: { m[42] = Math.floor(rand() * 256); out.push(m); } // VXLAN flags
    }
  }
  return out;
}

interface TsResult { drop: string | null; frame: Buffer | null }
function tsDecap(stage: DecapStage, f: Buffer): TsResult {
  const b = new PacketBatch({ capacity: 1 });
  b.append(f, 0, f.length, f.length, 0, 0);
  stage.process(b);
  if (b.drop[0] !== 0) return { drop: dropReason(b.drop[0]) ?? `code ${b.drop[0]}`, frame: null };
  return { drop: null, frame: Buffer.from(b.frame(0)) };
}

/** Options as a network config carries them (the live tests' GENEVE network has the first). */
const GENEVE_OPTIONS = [{ class: 0x0102, type: 0x01, data: '0000cafe' }, { class: 0xffff, type: 0x05, data: '' }];

for (const type of ['vxlan', 'geneve', 'nvgre'] as const) {
  t.test(`the port program against the TypeScript encap stage: ${type}`, { skip }, async (t) => {
    const p: XdpPlanHandle = openXdpPlan();
    t.teardown(() => p.close());
    const rand = rng(0xe1ca);
    const LOCAL = '192.0.2.1', REMOTE = '192.0.2.2';
    const enc = () => new EncapStage({
      type, vni: 100, local: LOCAL, remotes: [{ ip: REMOTE, mac: '02:00:00:00:ff:02' }], localMac: '02:00:00:00:ff:01', mtu: 1500,
      ...(type === 'geneve' ? { geneveOptions: GENEVE_OPTIONS.map((o) => ({ optClass: o.class, type: o.type, data: Uint8Array.from(Buffer.from(o.data, 'hex')) })) } : {}),
    });
    const st0 = enc();
    const t0 = st0.template;
    const full = Buffer.from(t0.bytes[0]);
    // The remote's part: Ethernet + IPv4 (+ a UDP header the program rewrites), built with protocol 17 as the placement does.
    // The IPv4 identification: the stage counts it per frame from 1 (RFC 6864: any value goes with DF set), the program
    // sends its template's. The template here carries 1, so a fresh stage's first frame must equal the program's output.
    const tpl = Buffer.alloc(42);
    full.copy(tpl, 0, 0, 34);
    tpl[23] = 17;
    tpl.writeUInt16BE(1, 18);
    tpl.writeUInt16BE(0, 24);
    p.setConfig({ localIp: LOCAL, underlaySlot: 3, udpPort: 4789, genevePort: 6081, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    // The domain's tunnel header: the stage's own bytes after the outer IPv4 (and UDP) header.
    p.setDomain(1, 100, type, type === 'geneve' ? 6081 : 0, full.subarray(t0.tunOff, t0.hdrLen));
    p.setSlot(3, LO);
    p.setPort(LO, 1, 2);
    p.setRemote(5, REMOTE, tpl);
    let redirected = 0, passed = 0, dropped = 0;
    const check = (name: string, f: Buffer): void => {
      if (f.length < 14) return; // no driver hands XDP less than an Ethernet header (BPF_PROG_RUN refuses it too)
      p.setFdb(1, mac(f, 6), 'port', 2);
      p.setFdb(1, mac(f, 0), 'remote', 5);
      const x = p.testRun('port', f, LO);
      const b = new PacketBatch({ capacity: 1 });
      b.append(f, 0, f.length, f.length, 0, 0);
      enc().process(b); // a fresh stage: its first IPv4 identification, as the template has it
      const ts = b.drop[0] !== 0 ? { drop: dropReason(b.drop[0]) ?? '?', frame: null } : { drop: null, frame: Buffer.from(b.frame(0)) };
      if (x.action === 'redirect') {
        redirected++;
        if (ts.frame === null) t.fail(`${name}: XDP encapsulated it, TypeScript dropped it (${ts.drop})`);
        else if (!ts.frame.equals(x.frame)) t.fail(`${name}: different bytes\n  xdp ${x.frame.toString('hex')}\n  ts  ${ts.frame.toString('hex')}`);
      } else if (x.action === 'drop') {
        dropped++;
        if (ts.drop !== 'inner-too-short') t.fail(`${name}: XDP dropped it, TypeScript: ${ts.drop ?? 'encapsulated'}`);
      } else passed++;
      p.delFdb(1, mac(f, 6));
      p.delFdb(1, mac(f, 0));
    };
    // Inner frames: what the VXLAN fixtures carry, and the project's plain Ethernet fixtures.
    const inner: Buffer[] = tunnelFrames().flatMap((s) => s.frames).filter((f) => kindOf(f) === 'vxlan').map((f) => f.subarray(50));
    for (const f of ['vlan.pcap', 'gre.pcap', 'mpls.pcap', 'vxlan-ipv6.pcap']) {
      const path = join(import.meta.dirname, '..', '..', 'fixtures', f);
      if (existsSync(path)) inner.push(...captureFrames(path).map((h) => Buffer.from(h, 'hex')));
    }
    inner.forEach((f, i) => {
      check(`inner#${i}`, f);
      for (let k = 0; k < 20; k++) {
        const m = Buffer.from(f);
        const at = 12 + Math.floor(rand() * Math.min(40, Math.max(1, m.length - 12)));
        if (at < m.length) m[at] ^= 1 + Math.floor(rand() * 255);
        check(`inner#${i} mutant ${k}`, k % 5 === 4 ? m.subarray(0, Math.floor(rand() * m.length)) : m);
      }
    });
    t.ok(redirected > 100, `${type}: encapsulated in XDP and compared byte for byte: ${redirected} (passed up ${passed}, dropped ${dropped})`);
  });
}

t.test('the underlay program against the TypeScript decap stage', { skip }, async (t) => {
  const p: XdpPlanHandle = openXdpPlan();
  t.teardown(() => p.close());
  const rand = rng(0x5eed);
  let redirected = 0, dropped = 0, passed = 0, compared = 0;

  /** Point the maps at this frame (as the placement would after learning), run both, compare. */
  const check = (name: string, f: Buffer): void => {
    const kind = kindOf(f) ?? 'vxlan';
    const vni = f.length >= 50 ? vniOf(f, kind) : 1;
    // What the stage makes of it tells where the inner MACs are (for a frame it decapsulates).
    const ts = tsDecap(new DecapStage({ networks: [{ vni, type: kind }] }), f);
    p.setConfig({ localIp: f.length >= 34 ? ip4(f, 30) : '192.0.2.1', underlaySlot: 0, udpPort: 4789, genevePort: 6081, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    p.setDomain(1, vni, kind, 0, Buffer.alloc(8));
    p.setSlot(2, LO);
    const macs = ts.frame !== null ? [mac(ts.frame, 6), mac(ts.frame, 0)] : null;
    if (f.length >= 34) p.setRemote(0, ip4(f, 26), Buffer.alloc(42));
    if (macs !== null) {
      p.setFdb(1, macs[0], 'remote', 0);
      p.setFdb(1, macs[1], 'port', 2);
    }
    const before = xdpPlanCounters(p);
    const x = p.testRun('underlay', f, LO);
    const after = xdpPlanCounters(p);
    const moved = XDP_PLAN_COUNTERS.filter((c) => after[c] !== before[c]);
    if (x.action === 'redirect') {
      redirected++;
      if (ts.drop !== null) t.fail(`${name}: XDP decapsulated it, TypeScript dropped it (${ts.drop})`);
      else if (!ts.frame!.equals(x.frame)) t.fail(`${name}: different inner bytes`);
      else compared++;
    } else if (x.action === 'drop') {
      dropped++;
      const reason = moved.find((c) => HOSTILE.has(c));
      if (reason === undefined || ts.drop !== reason) t.fail(`${name}: XDP dropped it (${moved.join(',')}), TypeScript: ${ts.drop ?? 'decapsulated'}`);
      else compared++;
    } else {
      passed++;
      if (x.action !== 'pass') t.fail(`${name}: unexpected verdict ${x.action}`);
    }
    if (macs !== null) { p.delFdb(1, macs[0]); p.delFdb(1, macs[1]); }
  };

  const sets = tunnelFrames();
  t.ok(sets.some((s) => s.frames.length > 0), `tunnel frames found in ${sets.map((s) => `${s.name} (${s.frames.length})`).join(', ')}`);
  const kinds = new Set(sets.flatMap((s) => s.frames.map((f) => kindOf(f))));
  t.same([...kinds].sort(), ['geneve', 'nvgre', 'vxlan'], 'all three tunnel types among them');
  for (const s of sets) {
    s.frames.forEach((f, i) => {
      check(`${s.name}#${i}`, f);
      mutants(f, rand, 40).forEach((m, k) => check(`${s.name}#${i} mutant ${k}`, m));
    });
  }
  t.ok(redirected > 0 && dropped > 0, `both verdicts exercised: ${redirected} decapsulated, ${dropped} dropped, ${passed} passed up`);
  t.comment(`compared ${compared} verdicts with the TypeScript stage`);
});

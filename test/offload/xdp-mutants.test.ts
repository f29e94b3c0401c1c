/**
 * The xdp plan's underlay program against vtepd's TypeScript decap on the
 * external fixtures (../shared/fixtures/external: tcpdump, packetnet, zeek
 * captures of VXLAN, GENEVE, NVGRE and foreign GRE) and on seeded mutants of
 * VXLAN, GENEVE and NVGRE frames over IPv4 and IPv6 (bytes flipped, frames cut,
 * length fields rewritten with and without a fixed IPv4 checksum). For each frame
 * the maps are set so that the fast path could take it, then:
 * - XDP_REDIRECT only when the TypeScript decap delivers, with the same bytes;
 * - XDP_DROP only under the TypeScript decap's own drop reason for that frame;
 * - XDP_PASS (the slow path) with a pass-* counter; never XDP_ABORTED.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { dropReason } from '../../src/tunnel/drop-reasons.js';
import type { EncapConfig, TunnelType } from '../../src/tunnel/tunnel-config.js';
import { openXdpPlan, xdpPlanObjectPath, xdpRemoteHeader, XDP_PLAN_COUNTERS, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { inner, ip4Checksum, tsEncap } from './fixtures/xdp-frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root (BPF_PROG_RUN, map updates)' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built (npm run build:native)' : false;
// ../shared next to the checkout (main), or next to its parent (a worktree under wt/).
const ext = ['../../../shared/fixtures/external/', '../../../../shared/fixtures/external/'].map((u) => fileURLToPath(new URL(u, import.meta.url))).find((d) => existsSync(d)) ?? '(absent)';
const LO = 1;

const ip4 = (b: Buffer, o: number): string => [...b.subarray(o, o + 4)].join('.');
const ip6 = (b: Buffer, o: number): string => [0, 1, 2, 3, 4, 5, 6, 7].map((k) => b.readUInt16BE(o + 2 * k).toString(16)).join(':');
const mac = (b: Buffer, o: number): string => [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** What the fast path needs to know of a tunnel frame (untagged outer), or null. */
function shape(f: Buffer): { v6: boolean; src: string; dst: string; kind: TunnelType; vni: number; inner: number } | null {
  if (f.length < 14) return null;
  const et = f.readUInt16BE(12);
  let l4: number; let proto: number; let v6 = false; let src: string; let dst: string;
  if (et === 0x0800 && f.length >= 34) {
    l4 = 14 + ((f[14] & 15) << 2); proto = f[23]; src = ip4(f, 26); dst = ip4(f, 30);
  } else if (et === 0x86dd && f.length >= 54) {
    l4 = 54; proto = f[20]; v6 = true; src = ip6(f, 22); dst = ip6(f, 38);
  } else return null;
  if (proto === 47 && f.length >= l4 + 8) return { v6, src, dst, kind: 'nvgre', vni: f.readUIntBE(l4 + 4, 3), inner: l4 + 8 };
  if (proto !== 17 || f.length < l4 + 16) return null;
  const port = f.readUInt16BE(l4 + 2);
  if (port === 4789) return { v6, src, dst, kind: 'vxlan', vni: f.readUIntBE(l4 + 12, 3), inner: l4 + 16 };
  if (port === 6081) return { v6, src, dst, kind: 'geneve', vni: f.readUIntBE(l4 + 12, 3), inner: l4 + 16 + ((f[l4 + 8] & 63) << 2) };
  return null;
}

/** The maps and the TypeScript decap set up for `f`'s network; one domain per network. */
class Bench {
  private nets = new Map<number, TunnelType>();
  private stage = new DecapStage();
  private domain = 0;
  constructor(private readonly p: XdpPlanHandle) {}
  configure(f: Buffer): void {
    const s = shape(f);
    if (!s) return;
    const d = ++this.domain;
    this.p.setConfig({ localIp: s.v6 ? '192.0.2.1' : s.dst, localIp6: s.v6 ? s.dst : undefined, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    this.p.setVni(s.vni, d, { type: s.kind });
    const hdr = Buffer.alloc(s.v6 ? (s.kind === 'nvgre' ? 54 : 62) : (s.kind === 'nvgre' ? 34 : 42));
    hdr.writeUInt16BE(s.v6 ? 0x86dd : 0x0800, 12);
    hdr[s.v6 ? 20 : 23] = s.kind === 'nvgre' ? 47 : 17;
    this.p.setRemote(d % 256, s.src, hdr);
    if (f.length >= s.inner + 12) {
      this.p.setFdb(d, mac(f, s.inner + 6), 'remote', d % 256);
      this.p.setFdb(d, mac(f, s.inner), 'port', 2);
    }
    this.nets.set(s.vni, s.kind);
    this.stage = new DecapStage({ networks: [...this.nets].map(([vni, type]) => ({ vni, type })) });
  }
  /** TypeScript decap of one frame: the inner frame or the drop reason. */
  ts(f: Buffer): Buffer | string {
    const b = new PacketBatch({ capacity: 1 });
    b.append(f, 0, f.length, f.length, 0, 0);
    this.stage.process(b);
    return b.drop[0] !== 0 ? String(dropReason(b.drop[0])) : Buffer.from(b.frame(0));
  }
}

/** Run one frame through both; returns the program's verdict and a disagreement, if any. */
function judge(p: XdpPlanHandle, bench: Bench, f: Buffer): { action: string; counter: string; wrong?: string } {
  const before = p.counters();
  const r = p.testRun('underlay', f, LO);
  const after = p.counters();
  const moved = XDP_PLAN_COUNTERS.filter((_, i) => after[i] !== before[i]);
  const counter = moved.find((k) => k !== 'decap-redirect') ?? moved[0] ?? '';
  const ts = bench.ts(f);
  let wrong: string | undefined;
  if (r.action === 'redirect') {
    if (!Buffer.isBuffer(ts)) wrong = `redirected, the TypeScript decap dropped it (${ts})`;
    else if (!ts.equals(r.frame)) wrong = 'redirected bytes differ from the TypeScript decap\'s';
  } else if (r.action === 'drop') {
    if (ts !== counter) wrong = `dropped as ${counter}, the TypeScript decap: ${Buffer.isBuffer(ts) ? 'delivered' : ts}`;
  } else if (r.action === 'pass') {
    if (!counter.startsWith('pass-')) wrong = `passed under ${counter || 'no counter'}`;
  } else wrong = `action ${r.action}`;
  return { action: r.action, counter, wrong };
}

/** A small seeded generator (mulberry32): the same mutants on every run. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function mutants(base: Buffer, n: number, seed: number, v6: boolean): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  const hdr = Math.min(base.length, v6 ? 110 : 90);
  for (let k = 0; k < n; k++) {
    let m = Buffer.from(base);
    const how = k % 4;
    if (how === 0) for (let j = 0; j <= (k >> 2) % 3; j++) m[Math.floor(r() * hdr)] ^= 1 << Math.floor(r() * 8);
    else if (how === 1) m = Buffer.from(m.subarray(0, 14 + Math.floor(r() * (base.length - 14)))); // BPF_PROG_RUN takes 14 bytes at least
    else {
      // A length field rewritten: IPv4 total / IPv6 payload, UDP length, or a GENEVE option length.
      const fields = v6 ? [18, 58, 62, 73] : [16, 38, 42, 53];
      const at = fields[Math.floor(r() * fields.length)];
      if (at + 1 < m.length) m.writeUInt16BE(r() < 0.5 ? Math.floor(r() * 0x10000) : Math.floor(r() * 2 * base.length), at);
    }
    if (!v6 && m.length >= 34 && (how === 2 || r() < 0.5)) ip4Checksum(m);
    out.push(m);
  }
  return out;
}

t.test('the underlay program agrees with the TypeScript decap', { skip }, async (t) => {
  const p = openXdpPlan();
  t.teardown(() => p.close());
  p.setSlot(2, LO);
  p.setSlot(3, LO);

  await t.test('seeded mutants of VXLAN, GENEVE and NVGRE over IPv4 and IPv6', async (t) => {
    const OPTS = [{ optClass: 0x0102, type: 0x03, data: Uint8Array.from([1, 2, 3, 4]) }, { optClass: 0x0103, type: 0x04, data: new Uint8Array(8) }];
    const bases: [string, Partial<EncapConfig> & { vni: number }][] = [
      ['VXLAN', { type: 'vxlan', vni: 100 }],
      ['GENEVE with two options', { type: 'geneve', vni: 300, geneveOptions: OPTS }],
      ['GENEVE with a critical option', { type: 'geneve', vni: 301, geneveOptions: [{ optClass: 0x0102, type: 0x83, data: new Uint8Array(4) }] }],
      ['NVGRE', { type: 'nvgre', vni: 200 }],
    ];
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    let seed = 1;
    for (const v6 of [false, true]) {
      for (const [name, enc] of bases) {
        const f = inner('02:00:00:00:0a:01', '02:00:00:00:0b:01', 120);
        const base = tsEncap({ ...enc, local: v6 ? '2001:db8::2' : '192.0.2.2', remote: v6 ? '2001:db8::1' : '192.0.2.1' }, f).out;
        const bench = new Bench(p);
        bench.configure(base);
        const b = judge(p, bench, base);
        t.equal(b.action, name.includes('critical') ? 'pass' : 'redirect', `${name} over IPv${v6 ? 6 : 4}: the unmutated frame takes ${name.includes('critical') ? 'the slow path' : 'the fast path'}`);
        for (const m of mutants(base, 300, seed++, v6)) {
          const j = judge(p, bench, m);
          seen.set(`${j.action} ${j.counter}`, (seen.get(`${j.action} ${j.counter}`) ?? 0) + 1);
          if (j.wrong) wrong.push(`${name}/IPv${v6 ? 6 : 4}: ${j.wrong}: ${m.toString('hex').slice(0, 160)}`);
        }
      }
    }
    t.same(wrong.slice(0, 10), [], `2400 mutants: the program and the TypeScript decap agree (${wrong.length} disagreements)`);
    const verdicts = [...seen].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
    t.comment(`verdicts: ${verdicts.join(', ')}`);
    t.ok([...seen.keys()].filter((k) => k.startsWith('drop')).length >= 8, 'the mutants reach at least 8 drop reasons');
    t.ok(seen.has('redirect decap-redirect'), 'some mutants (say, a flipped inner payload bit) still take the fast path');
  });

  await t.test('encap of random inner frames: the TypeScript stage\'s bytes', async (t) => {
    // Random bytes behind two MACs, with an ethertype (IPv4, IPv6, VLAN tags, other) so that
    // the inner-flow hash meets random IHLs, fragment bits, protocols and cut headers.
    const VM_B = '02:00:00:00:0b:01';
    const VM_A = '02:00:00:00:0a:01';
    const nets: [string, Partial<EncapConfig> & { vni: number }, boolean][] = [
      ['VXLAN/IPv4', { type: 'vxlan', vni: 100 }, false],
      ['NVGRE/IPv4', { type: 'nvgre', vni: 200 }, false],
      ['GENEVE/IPv6 (UDP checksum)', { type: 'geneve', vni: 300, geneveOptions: [{ optClass: 1, type: 2, data: new Uint8Array(4) }] }, true],
    ];
    const r = rng(99);
    const ets = [0x0800, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x0806];
    nets.forEach(([name, enc, v6], k) => {
      const d = 100 + k;
      const e = { local: v6 ? '2001:db8::1' : '192.0.2.1', remote: v6 ? '2001:db8::2' : '192.0.2.2' };
      p.setConfig({ localIp: '192.0.2.1', underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 1000 + k, sportMax: 60000 });
      p.setVni(enc.vni, d, { type: enc.type!, geneveOptions: enc.geneveOptions });
      p.setPort(LO, d, 2);
      p.setFdb(d, VM_B, 'port', 2);
      p.setFdb(d, VM_A, 'remote', 200 + k);
      const stage = { sportMin: 1000 + k, sportMax: 60000 };
      const hdr = xdpRemoteHeader(tsEncap({ ...enc, ...e, ...stage }, inner(VM_B, VM_A)).stage.template, 0);
      if (!v6) hdr.writeUInt16BE(1, 18); // each oracle is a fresh stage: IPv4 id 1
      p.setRemote(200 + k, e.remote, hdr);
      const wrong: string[] = [];
      for (let i = 0; i < 300; i++) {
        const f = Buffer.alloc(14 + Math.floor(r() * 200));
        inner(VM_B, VM_A).copy(f, 0, 0, 12);
        for (let j = 14; j < f.length; j++) f[j] = Math.floor(r() * 256);
        f.writeUInt16BE(ets[i % ets.length], 12);
        if (i % 3 === 0 && f.length > 14) f[14] = (f[14] & 0x0f) | (f[12] === 0x86 ? 0x60 : 0x40);
        if (i % 2 === 0 && f.length > 18) f.writeUInt16BE(ets[(i >> 1) % 2], 16); // behind a tag
        const want = tsEncap({ ...enc, ...e, ...stage }, f).out;
        const got = p.testRun('port', f, LO);
        if (got.action !== 'redirect' || !got.frame.equals(want)) wrong.push(`${f.toString('hex')}`);
      }
      t.same(wrong.slice(0, 3), [], `${name}: 300 random inner frames, byte for byte the TypeScript stage's (${wrong.length} differ)`);
    });
  });

  await t.test('the external fixtures', { skip: existsSync(ext) ? false : '../shared/fixtures/external is absent' }, async (t) => {
    const files = ['tcpdump/vxlan.pcap', 'tcpdump/geneve.pcap', 'tcpdump/various_gre.pcap', 'packetnet/vxlan.pcap', 'packetnet/gre_nvgre.pcap',
      'packetnet/vxlan_custom_port.pcap', 'zeek/vxlan.pcap', 'zeek/geneve.pcap', 'zeek/geneve-many-options.pcap', 'zeek/vxlan-triple-v2.pcap'];
    t.ok(files.every((f) => readdirSync(join(ext, f.split('/')[0])).includes(f.split('/')[1])), 'every capture named is there');
    let redirected = 0;
    for (const file of files) {
      const bench = new Bench(p);
      const r = openCapture(join(ext, file));
      const wrong: string[] = [];
      let n = 0;
      for (let rec = r.next(); rec !== null; rec = r.next()) {
        const f = Buffer.from(rec.data.subarray(rec.offset, rec.offset + rec.caplen));
        bench.configure(f);
        const j = judge(p, bench, f);
        if (j.action === 'redirect') redirected++;
        if (j.wrong) wrong.push(`frame ${n}: ${j.wrong}`);
        n++;
      }
      r.close();
      t.same(wrong, [], `${file}: ${n} frames, the program and the TypeScript decap agree`);
    }
    t.ok(redirected >= 10, `${redirected} external frames took the fast path`);
  });
});

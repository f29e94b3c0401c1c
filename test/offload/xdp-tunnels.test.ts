/**
 * NVGRE and GENEVE in the xdp plan's programs (native-bindings/bpf/vtepd_xdp.bpf.c),
 * driven with BPF_PROG_RUN in test mode on exact frames:
 * - encap: for every inner flow shape, the port program's output equals the
 *   TypeScript encap stage's bytes, the inner-flow hash's NVGRE FlowID and UDP
 *   source port included; tshark decodes it; the TypeScript decap undoes it;
 * - decap: a frame the TypeScript stage built comes out as exactly the inner frame;
 * - malformed frames are dropped under the same reason the TypeScript decap gives
 *   (counter names are its drop-reason names); GENEVE critical options, unknown
 *   VSIDs and foreign GRE go up to userspace with XDP_PASS, counted.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../../src/capture/index.js';
import { checksumVerifies } from '../../src/packet/checksum.js';
import { dropReason } from '../../src/tunnel/drop-reasons.js';
import type { EncapConfig, DecapConfig } from '../../src/tunnel/tunnel-config.js';
import { openXdpPlan, xdpPlanCounters, xdpPlanObjectPath, xdpRemoteHeader, type XdpDomainTunnel, type XdpPlanCounter, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { flowShapes, inner, ip4Checksum, tsDecap, tsEncap } from './fixtures/xdp-frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root (BPF_PROG_RUN, map updates)' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built (npm run build:native)' : false;
const VM_A = '02:00:00:00:0a:01'; // behind the remote 192.0.2.2
const VM_B = '02:00:00:00:0b:01'; // on the local port
const LO = 1; // the loopback's ifindex: a real device for the devmap and the test run's ingress
const OPT = { optClass: 0x0102, type: 0x03, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
const OPT2 = { optClass: 0xffff, type: 0x11, data: new Uint8Array(0) };

/** One network per case: its domain, the remote's index for its kind, TS and XDP configs. */
interface Net { name: string; domain: number; remote: number; enc: Partial<EncapConfig> & { vni: number }; xdp: XdpDomainTunnel }
const NETS: Net[] = [
  { name: 'NVGRE, FlowID hashed', domain: 2, remote: 6, enc: { type: 'nvgre', vni: 200 }, xdp: { type: 'nvgre' } },
  { name: 'NVGRE, FlowID fixed', domain: 3, remote: 6, enc: { type: 'nvgre', vni: 201, flowId: 7 }, xdp: { type: 'nvgre', flowId: 7 } },
  { name: 'GENEVE with options', domain: 4, remote: 7, enc: { type: 'geneve', vni: 300, geneveOptions: [OPT, OPT2] }, xdp: { type: 'geneve', geneveOptions: [OPT, OPT2] } },
  { name: 'GENEVE without options', domain: 5, remote: 7, enc: { type: 'geneve', vni: 301 }, xdp: { type: 'geneve' } },
  { name: 'VXLAN (today\'s default)', domain: 1, remote: 5, enc: { type: 'vxlan', vni: 100 }, xdp: { type: 'vxlan' } },
];
const DECAP: DecapConfig = { networks: [...NETS.map((n) => ({ vni: n.enc.vni, type: n.enc.type! })), { vni: 302, type: 'geneve' }] };

function counter(p: XdpPlanHandle, k: XdpPlanCounter): number {
  return xdpPlanCounters(p)[k];
}

t.test('NVGRE and GENEVE in the xdp plan programs', { skip }, async (t) => {
  const p = openXdpPlan();
  t.teardown(() => p.close());
  p.setConfig({ localIp: '192.0.2.1', underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
  p.setSlot(2, LO);
  p.setSlot(3, LO);
  for (const n of NETS) {
    if (n.name === 'VXLAN (today\'s default)') p.setVni(n.enc.vni, n.domain); // no tunnel argument: VXLAN
    else p.setVni(n.enc.vni, n.domain, n.xdp);
    p.setFdb(n.domain, VM_B, 'port', 2);
    p.setFdb(n.domain, VM_A, 'remote', n.remote);
    // The remote's header: the TypeScript template's bytes before the tunnel header, with
    // the stage's first IPv4 id (each oracle below is a fresh stage: id 1).
    const { stage } = tsEncap({ ...n.enc, local: '192.0.2.1', remote: '192.0.2.2' }, inner(VM_B, VM_A));
    const hdr = xdpRemoteHeader(stage.template, 0);
    t.equal(hdr.length, 34, `${n.name}: the remote's header is its Ethernet + IPv4 (any tunnel type)`);
    hdr.writeUInt16BE(1, 18);
    p.setRemote(n.remote, '192.0.2.2', hdr);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-xdp-tun-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  await t.test('encap: the TypeScript stage\'s bytes for every flow shape', async (t) => {
    const pcap = join(dir, 'encap.pcap');
    const w = new PcapWriter(pcap);
    for (const n of NETS) {
      p.setPort(LO, n.domain, 2);
      let flowIds = new Set<number>();
      for (const [shape, f] of flowShapes(VM_B, VM_A)) {
        const { out: want } = tsEncap({ ...n.enc, local: '192.0.2.1', remote: '192.0.2.2' }, f);
        const r = p.testRun('port', f, LO);
        t.equal(r.action, 'redirect', `${n.name}, ${shape}: redirected to the underlay`);
        t.same(r.frame, want, `${n.name}, ${shape}: byte for byte the TypeScript stage's`);
        t.ok(checksumVerifies(r.frame, 14, 20), `${n.name}, ${shape}: IPv4 header checksum verifies`);
        const back = tsDecap(DECAP, r.frame);
        t.same(back, f, `${n.name}, ${shape}: the TypeScript decap gives the inner frame back`);
        if (n.enc.type === 'nvgre') flowIds.add(r.frame[41]);
        if (shape === 'IPv4/TCP') w.write(r.frame, 0, r.frame.length, r.frame.length, 0, 0);
      }
      if (n.name === 'NVGRE, FlowID hashed') t.ok(flowIds.size > 8, `hashed FlowIDs spread: ${flowIds.size} values`);
      if (n.name === 'NVGRE, FlowID fixed') t.same([...flowIds], [7], 'a fixed FlowID stays');
      flowIds = new Set();
    }
    w.close();
    if (spawnSync('tshark', ['--version']).status !== 0) return;
    // One line per frame (NETS order), fields |-separated, repeats comma-joined.
    const lines = execFileSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
      '-e', 'gre.proto', '-e', 'gre.key', '-e', 'geneve.vni', '-e', 'geneve.option.class', '-e', 'geneve.option.type', '-e', 'geneve.flags.critical',
      '-e', 'udp.dstport', '-e', 'ip.checksum.status', '-e', 'eth.src', '-e', 'ip.proto'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('|'));
    t.equal(lines.length, NETS.length, 'tshark read every frame');
    const [nv, nvFixed, gen, gen0, vx] = lines;
    t.equal(nv[0], '0x6558', 'tshark: NVGRE carries Ethernet (0x6558)');
    t.equal(Number(nv[1]) >>> 8, 200, 'tshark: GRE key holds VSID 200');
    t.equal(Number(nvFixed[1]), (201 << 8) | 7, 'tshark: VSID 201, FlowID 7');
    t.equal(nv[9].split(',')[0], '47', 'tshark: outer IP protocol GRE');
    t.equal(Number(gen[2]), 300, 'tshark: GENEVE VNI 300');
    t.equal(gen[3], '0x0102,0xffff', 'tshark: both GENEVE option classes');
    t.equal(gen[4], '0x03,0x11', 'tshark: both option types');
    t.equal(gen[6].split(',')[0], '6081', 'tshark: GENEVE port 6081');
    t.equal(Number(gen0[2]), 301, 'tshark: GENEVE VNI 301, no options');
    t.equal(vx[6].split(',')[0], '4789', 'tshark: VXLAN still on 4789');
    for (const l of lines) t.equal(l[7].split(',')[0], '1', 'tshark: outer IPv4 checksum good');
  });

  await t.test('decap: exactly the inner frame, redirected to the port', async (t) => {
    for (const n of NETS) {
      const f = inner(VM_A, VM_B);
      const { out } = tsEncap({ ...n.enc, local: '192.0.2.2', remote: '192.0.2.1' }, f);
      const r = p.testRun('underlay', out, LO);
      t.equal(r.action, 'redirect', `${n.name}: redirected`);
      t.same(r.frame, f, `${n.name}: the inner frame, byte for byte`);
    }
    t.equal(counter(p, 'decap-redirect'), NETS.length);
  });

  await t.test('decap: malformed frames dropped under the TypeScript decap\'s reason', async (t) => {
    const f = inner(VM_A, VM_B);
    const mk = (i: number): Buffer => tsEncap({ ...NETS[i].enc, local: '192.0.2.2', remote: '192.0.2.1' }, f).out;
    const nv = mk(0);
    const gen = mk(2);
    const vx = mk(4);
    // Each edit keeps the outer IPv4 checksum right: the frame lies in the field named, not in its checksum.
    const edit = (b: Buffer, fn: (c: Buffer) => void): Buffer => { const c = Buffer.from(b); fn(c); ip4Checksum(c); return c; };
    const cases: [string, Buffer, XdpPlanCounter][] = [
      ['NVGRE with the S bit', edit(nv, (c) => { c[34] |= 0x10; }), 'nvgre-bad-flags'],
      ['NVGRE without the K bit', edit(nv, (c) => { c[34] = 0; }), 'nvgre-bad-flags'],
      ['NVGRE cut inside its key', edit(nv.subarray(0, 40), (c) => { c.writeUInt16BE(26, 16); }), 'truncated'],
      ['NVGRE IPv4 length beyond the frame', edit(nv, (c) => { c.writeUInt16BE(nv.length, 16); }), 'ip-bad-length'],
      ['GENEVE version 1', edit(gen, (c) => { c[42] |= 0x40; }), 'geneve-bad-version'],
      ['GENEVE O bit (control)', edit(gen, (c) => { c[43] |= 0x80; }), 'geneve-control'],
      ['GENEVE carrying IPv4, not Ethernet', edit(gen, (c) => { c.writeUInt16BE(0x0800, 44); }), 'geneve-non-ethernet'],
      ['GENEVE option length past the packet', edit(gen, (c) => { c[42] = 0x3f; }), 'geneve-bad-opt-length'],
      ['GENEVE option longer than the option area', edit(gen, (c) => { c[53] = 31; }), 'geneve-bad-opt-length'],
      ['GENEVE frame for an NVGRE VSID', edit(gen, (c) => { c.writeUIntBE(200, 46, 3); }), 'tunnel-type-mismatch'],
      ['NVGRE frame for a GENEVE VNI', edit(nv, (c) => { c.writeUIntBE(300, 38, 3); }), 'tunnel-type-mismatch'],
      ['VXLAN frame for a GENEVE VNI', edit(vx, (c) => { c.writeUIntBE(300, 46, 3); }), 'tunnel-type-mismatch'],
      ['NVGRE with a wrong IPv4 checksum', (() => { const c = Buffer.from(nv); c[25] ^= 1; return c; })(), 'ip4-bad-checksum'],
      ['GENEVE with a wrong IPv4 checksum', (() => { const c = Buffer.from(gen); c[24] ^= 0x80; return c; })(), 'ip4-bad-checksum'],
    ];
    for (const [what, frame, k] of cases) {
      const before = counter(p, k);
      t.equal(p.testRun('underlay', frame, LO).action, 'drop', `${what}: dropped`);
      t.equal(counter(p, k), before + 1, `${what}: counted as ${k}`);
      const ts = tsDecap(DECAP, frame);
      t.equal(typeof ts === 'number' ? dropReason(ts) : 'delivered', k, `${what}: the TypeScript decap drops it as ${k} too`);
    }
  });

  await t.test('decap: what goes up to userspace', async (t) => {
    const f = inner(VM_A, VM_B);
    const crit = tsEncap({ type: 'geneve', vni: 300, local: '192.0.2.2', remote: '192.0.2.1', geneveOptions: [{ optClass: 0x0102, type: 0x83, data: new Uint8Array(4) }] }, f).out;
    t.equal(crit[43] & 0x40, 0x40, 'the TypeScript stage sets the C bit');
    const critNoC = Buffer.from(crit); critNoC[43] &= ~0x40; // a critical option without the C bit: the walk finds it
    const nv = tsEncap({ ...NETS[0].enc, local: '192.0.2.2', remote: '192.0.2.1' }, f).out;
    const foreignGre = Buffer.from(nv); foreignGre.writeUInt16BE(0x0800, 36);
    const unknownVsid = Buffer.from(nv); unknownVsid.writeUIntBE(999, 38, 3);
    const learn = tsEncap({ ...NETS[2].enc, local: '192.0.2.2', remote: '192.0.2.1' }, inner('02:00:00:00:0a:99', VM_B)).out;
    const cases: [string, Buffer, XdpPlanCounter][] = [
      ['GENEVE critical option (C bit)', crit, 'pass-geneve-critical'],
      ['GENEVE critical option without the C bit', critNoC, 'pass-geneve-critical'],
      ['GRE that is not NVGRE', foreignGre, 'pass-not-ours'],
      ['unknown VSID', unknownVsid, 'pass-unknown-vni'],
      ['GENEVE from an unknown source MAC', learn, 'pass-learn'],
    ];
    for (const [what, frame, k] of cases) {
      const before = counter(p, k);
      const r = p.testRun('underlay', frame, LO);
      t.equal(r.action, 'pass', `${what}: XDP_PASS`);
      t.same(r.frame, frame, `${what}: untouched`);
      t.equal(counter(p, k), before + 1, `${what}: counted as ${k}`);
    }
  });
});

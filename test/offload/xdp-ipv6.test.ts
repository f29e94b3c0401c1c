/**
 * The IPv6 outer in the xdp plan's programs (native-bindings/bpf/vtepd_xdp.bpf.c),
 * and the outer UDP checksum the port program computes (IPv6 always, unless the
 * network sends 0 under RFC 6935/6936; IPv4 when asked), driven with BPF_PROG_RUN
 * on exact frames:
 * - encap: for every inner flow shape and odd and even sizes up to 1400 bytes,
 *   the output equals the TypeScript encap stage's bytes, flow label and UDP
 *   checksum included; tshark and the TypeScript decap (checksum verified) agree;
 * - decap: exactly the inner frame; UDP checksum 0 is dropped unless zero-checksum
 *   receive is on; extension headers go up to userspace; lying lengths dropped;
 * - an outer header beyond the driver's headroom goes up to userspace, counted.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../../src/capture/index.js';
import { dropReason } from '../../src/tunnel/drop-reasons.js';
import type { DecapConfig, EncapConfig } from '../../src/tunnel/tunnel-config.js';
import { openXdpPlan, xdpPlanCounters, xdpPlanObjectPath, xdpRemoteHeader, type XdpDomainTunnel, type XdpPlanCounter, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { flowShapes, inner, tsDecap, tsEncap } from './fixtures/xdp-frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root (BPF_PROG_RUN, map updates)' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built (npm run build:native)' : false;
const VM_A = '02:00:00:00:0a:01';
const VM_B = '02:00:00:00:0b:01';
const LO = 1;
const L6 = '2001:db8::1';
const R6 = '2001:db8::2';
const OPT = { optClass: 0x0102, type: 0x03, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };

interface Net { name: string; domain: number; remote: number; v6: boolean; enc: Partial<EncapConfig> & { vni: number }; xdp: XdpDomainTunnel }
const NETS: Net[] = [
  { name: 'VXLAN over IPv6', domain: 1, remote: 10, v6: true, enc: { type: 'vxlan', vni: 100 }, xdp: { type: 'vxlan' } },
  { name: 'GENEVE over IPv6 with an option', domain: 4, remote: 11, v6: true, enc: { type: 'geneve', vni: 300, geneveOptions: [OPT] }, xdp: { type: 'geneve', geneveOptions: [OPT] } },
  { name: 'NVGRE over IPv6', domain: 2, remote: 12, v6: true, enc: { type: 'nvgre', vni: 200 }, xdp: { type: 'nvgre' } },
  { name: 'VXLAN over IPv6, zero checksum sent', domain: 6, remote: 10, v6: true, enc: { type: 'vxlan', vni: 600, zeroCsum6Tx: true }, xdp: { type: 'vxlan', zeroCsum6Tx: true } },
  { name: 'VXLAN over IPv4 with the UDP checksum', domain: 7, remote: 13, v6: false, enc: { type: 'vxlan', vni: 700, udpCsum: true }, xdp: { type: 'vxlan', udpCsum: true } },
];
const DECAP: DecapConfig = { verifyUdpCsum: true, zeroCsum6Rx: true, networks: NETS.map((n) => ({ vni: n.enc.vni, type: n.enc.type! })) };
const ends = (n: Net, from: 'here' | 'there') => {
  const [a, b] = n.v6 ? [L6, R6] : ['192.0.2.1', '192.0.2.2'];
  return from === 'here' ? { local: a, remote: b } : { local: b, remote: a };
};

function counter(p: XdpPlanHandle, k: XdpPlanCounter): number {
  return xdpPlanCounters(p)[k];
}

/** Inner frames of odd and even sizes around the program's 256-byte checksum chunks. */
function sized(): [string, Buffer][] {
  return [61, 255, 256, 257, 511, 513, 1001, 1400].map((n) => {
    const f = inner(VM_B, VM_A, n);
    for (let i = 42; i < n; i++) f[i] = (i * 37 + 11) & 0xff;
    return [`${n}-byte inner frame`, f];
  });
}

t.test('the IPv6 outer and the UDP checksum in the xdp plan programs', { skip }, async (t) => {
  const p = openXdpPlan();
  t.teardown(() => p.close());
  p.setConfig({ localIp: '192.0.2.1', localIp6: L6, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
  p.setSlot(2, LO);
  p.setSlot(3, LO);
  for (const n of NETS) {
    p.setVni(n.enc.vni, n.domain, n.xdp);
    p.setFdb(n.domain, VM_B, 'port', 2);
    p.setFdb(n.domain, VM_A, 'remote', n.remote);
    const e = ends(n, 'here');
    const { stage } = tsEncap({ ...n.enc, ...e }, inner(VM_B, VM_A));
    const hdr = xdpRemoteHeader(stage.template, 0);
    if (!n.v6) hdr.writeUInt16BE(1, 18); // the fresh stage's first IPv4 id
    p.setRemote(n.remote, e.remote, hdr);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-xdp-v6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  await t.test('encap: the TypeScript stage\'s bytes, flow label and UDP checksum included', async (t) => {
    const pcap = join(dir, 'encap6.pcap');
    const w = new PcapWriter(pcap);
    let written = 0;
    for (const n of NETS) {
      p.setPort(LO, n.domain, 2);
      for (const [shape, f] of [...flowShapes(VM_B, VM_A), ...sized()]) {
        const { out: want } = tsEncap({ ...n.enc, ...ends(n, 'here') }, f);
        const r = p.testRun('port', f, LO);
        t.equal(r.action, 'redirect', `${n.name}, ${shape}: redirected`);
        t.same(r.frame, want, `${n.name}, ${shape}: byte for byte the TypeScript stage's`);
        t.same(tsDecap(DECAP, r.frame), f, `${n.name}, ${shape}: the TypeScript decap (UDP checksum verified) gives it back`);
        if (n.enc.type !== 'nvgre') {
          w.write(r.frame, 0, r.frame.length, r.frame.length, 0, 0);
          written++;
        }
      }
    }
    w.close();
    if (spawnSync('tshark', ['--version']).status !== 0) return;
    const lines = execFileSync('tshark', ['-r', pcap, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|',
      '-e', 'udp.checksum.status', '-e', 'ipv6.src', '-e', 'udp.checksum'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('|'));
    t.equal(lines.length, written, 'tshark read every frame');
    const bad = lines.filter((l) => l[2].split(',')[0] !== '0x0000' && l[0].split(',')[0] !== '1');
    t.same(bad, [], 'tshark: every outer UDP checksum the program computed is good');
    t.ok(lines.some((l) => l[1] === L6 && l[2].split(',')[0] === '0x0000'), 'tshark: the zero-checksum network sends 0');
  });

  await t.test('decap: exactly the inner frame', async (t) => {
    for (const n of NETS) {
      const f = inner(VM_A, VM_B, 301);
      const { out } = tsEncap({ ...n.enc, ...ends(n, 'there') }, f);
      p.setConfig({ localIp: '192.0.2.1', localIp6: L6, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535, zeroCsum6Rx: n.enc.zeroCsum6Tx === true });
      const r = p.testRun('underlay', out, LO);
      t.equal(r.action, 'redirect', `${n.name}: redirected`);
      t.same(r.frame, f, `${n.name}: the inner frame, byte for byte`);
    }
  });

  await t.test('decap: zero checksum, extension headers, lying lengths', async (t) => {
    p.setConfig({ localIp: '192.0.2.1', localIp6: L6, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    const f = inner(VM_A, VM_B);
    const vx = tsEncap({ ...NETS[0].enc, ...ends(NETS[0], 'there') }, f).out;
    const zero = tsEncap({ ...NETS[3].enc, ...ends(NETS[3], 'there') }, f).out;
    // A destination-options header (8 bytes of padding) between IPv6 and UDP.
    const ext = Buffer.concat([vx.subarray(0, 54), Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]), vx.subarray(54)]);
    ext[20] = 60;
    ext.writeUInt16BE(vx.readUInt16BE(18) + 8, 18);
    const lying = Buffer.from(vx); lying.writeUInt16BE(vx.length, 18);
    const other = Buffer.from(vx); other[53] = 9; // another host's address
    const cases: [string, Buffer, 'drop' | 'pass', XdpPlanCounter][] = [
      ['UDP checksum 0, zero-checksum receive off', zero, 'drop', 'udp6-zero-checksum'],
      ['a destination-options header', ext, 'pass', 'pass-ip6-ext-header'],
      ['payload length beyond the frame', lying, 'drop', 'ip-bad-length'],
      ['another host\'s IPv6 address', other, 'pass', 'pass-not-ours'],
    ];
    for (const [what, frame, action, k] of cases) {
      const before = counter(p, k);
      t.equal(p.testRun('underlay', frame, LO).action, action, `${what}: ${action}`);
      t.equal(counter(p, k), before + 1, `${what}: counted as ${k}`);
      if (action === 'drop') {
        const ts = tsDecap({ networks: DECAP.networks }, frame);
        t.equal(typeof ts === 'number' ? dropReason(ts) : 'delivered', k, `${what}: the TypeScript decap drops it as ${k} too`);
      }
    }
    t.same(tsDecap(DECAP, ext), f, 'userspace (the TypeScript decap) walks the extension header and delivers it');
  });

  await t.test('an outer header beyond the headroom goes up to userspace', async (t) => {
    const big = [124, 60].map((n, k) => ({ optClass: 0x0200 + k, type: 0x01, data: new Uint8Array(n) }));
    p.setVni(900, 9, { type: 'geneve', geneveOptions: big });
    p.setPort(LO, 9, 2);
    p.setFdb(9, VM_B, 'port', 2);
    p.setFdb(9, VM_A, 'remote', 11);
    const before = counter(p, 'pass-no-headroom');
    const r = p.testRun('port', inner(VM_B, VM_A), LO);
    t.equal(r.action, 'pass', '62 + 8 + 192 bytes of outer header: XDP_PASS');
    t.equal(counter(p, 'pass-no-headroom'), before + 1, 'counted as pass-no-headroom');
    t.throws(() => p.setVni(901, 9, { type: 'geneve', geneveOptions: [...big, { optClass: 1, type: 1, data: new Uint8Array(60) }] }), /252/, 'more than 252 bytes of options: refused');
    t.throws(() => p.setVni(902, 9, { type: 'vxlan', flowId: 3 }), /flowId needs type 'nvgre'/);
    t.throws(() => p.setRemote(14, R6, Buffer.alloc(50)), /header: a Buffer/);
    // An IPv6-only underlay: no IPv4 address at all; IPv6 decap still works.
    p.setConfig({ localIp6: L6, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    const f = inner(VM_A, VM_B);
    t.same(p.testRun('underlay', tsEncap({ ...NETS[0].enc, local: R6, remote: L6 }, f).out, LO).frame, f, 'IPv6-only config: decapsulated');
    const v4 = tsEncap({ ...NETS[4].enc, local: '192.0.2.2', remote: '192.0.2.1' }, f).out;
    t.equal(p.testRun('underlay', v4, LO).action, 'pass', 'IPv6-only config: an IPv4 tunnel frame is not ours');
  });
});

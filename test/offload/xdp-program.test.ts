/**
 * The xdp plan's eBPF programs (native-bindings/bpf/vtepd_xdp.bpf.c), driven with
 * BPF_PROG_RUN in test mode on exact frames (no timing involved):
 * - the underlay program decapsulates a VXLAN frame that vtepd's own TypeScript
 *   encap built into exactly the inner frame, redirected to the port the FDB names;
 * - the port program encapsulates an inner frame into the same bytes as the
 *   TypeScript encap stage (the UDP source port too: the program computes the
 *   same inner-flow hash), which tshark decodes as VXLAN;
 * - truncated and lying frames are dropped under their counted reason; unknown
 *   sources (learning), broadcast, unknown destinations and unknown VNIs go up to
 *   userspace with XDP_PASS; last-seen times are refreshed by the program.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { PcapWriter } from '../../src/capture/index.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { openXdpPlan, xdpPlanCounters, xdpPlanObjectPath, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { checksumVerifies, internetChecksum } from '../../src/packet/checksum.js';

const skip = process.getuid?.() !== 0 ? 'needs root (BPF_PROG_RUN, map updates)' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built (npm run build:native)' : false;
const VM_A = '02:00:00:00:0a:01'; // behind the remote
const VM_B = '02:00:00:00:0b:01'; // on the local port
const LO = 1; // the loopback's ifindex: a real device for the devmap and the test run's ingress

function inner(src: string, dst: string, size = 98): Buffer {
  const f = Buffer.alloc(size);
  Buffer.from(dst.split(':').map((x) => parseInt(x, 16))).copy(f, 0);
  Buffer.from(src.split(':').map((x) => parseInt(x, 16))).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  // IPv4/UDP inner: the flow hash reads addresses and ports.
  f[14] = 0x45; f.writeUInt16BE(size - 14, 16); f[22] = 64; f[23] = 17;
  Buffer.from([10, 0, 0, 1]).copy(f, 26); Buffer.from([10, 0, 0, 2]).copy(f, 30);
  f.writeUInt16BE(1234, 34); f.writeUInt16BE(5678, 36); f.writeUInt16BE(size - 34, 38);
  return f;
}

/** vtepd's TypeScript VXLAN encap of `frame` from `local` to `remote`. */
function tsEncap(frame: Buffer, local: string, remote: string): Buffer {
  const st = new EncapStage({ type: 'vxlan', vni: 100, local, remotes: [{ ip: remote, mac: '02:00:00:00:ff:02' }], localMac: '02:00:00:00:ff:01' });
  const b = new PacketBatch({ capacity: 1 });
  b.append(frame, 0, frame.length, frame.length, 0, 0);
  st.process(b);
  t.equal(b.drop[0], 0, 'the TypeScript stage encapsulated it');
  return Buffer.from(b.frame(0));
}

t.test('the xdp plan programs on exact frames', { skip }, async (t) => {
  const p: XdpPlanHandle = openXdpPlan();
  t.teardown(() => p.close());
  const c0 = xdpPlanCounters(p);
  t.same(Object.values(c0).filter((v) => v !== 0), [], 'counters start at 0');

  await t.test('decap: the inner frame exactly, redirected to the port', async (t) => {
    // This host is 192.0.2.2; the remote 192.0.2.1 sends VM_A -> VM_B in VNI 100.
    p.setConfig({ localIp: '192.0.2.2', underlaySlot: 0, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    p.setVni(100, 1);
    p.setSlot(2, LO);
    p.setRemote(0, '192.0.2.1', Buffer.alloc(42));
    p.setFdb(1, VM_A, 'remote', 0);
    p.setFdb(1, VM_B, 'port', 2);
    const f = inner(VM_A, VM_B);
    const outer = tsEncap(f, '192.0.2.1', '192.0.2.2');
    const r = p.testRun('underlay', outer, LO);
    t.equal(r.action, 'redirect');
    t.same(r.frame, f, 'the inner frame, byte for byte');
    t.equal(xdpPlanCounters(p)['decap-redirect'], 1);
    const row = p.fdb().find((e) => e.mac === VM_A);
    t.ok(row && row.lastSeenNs > 0, 'the source entry\'s last-seen time was refreshed by the program');

    // What the fast path leaves to userspace.
    const cases: [string, Buffer, string][] = [
      ['unknown source (learning)', tsEncap(inner('02:00:00:00:0a:99', VM_B), '192.0.2.1', '192.0.2.2'), 'pass-learn'],
      ['broadcast', tsEncap(inner(VM_A, 'ff:ff:ff:ff:ff:ff'), '192.0.2.1', '192.0.2.2'), 'pass-flood'],
      ['unknown destination', tsEncap(inner(VM_A, '02:00:00:00:0c:01'), '192.0.2.1', '192.0.2.2'), 'pass-flood'],
      ['another host\'s tunnel', tsEncap(f, '192.0.2.1', '192.0.2.3'), 'pass-not-ours'],
    ];
    const unknownVni = Buffer.from(outer);
    unknownVni.writeUIntBE(101, 46, 3);
    cases.push(['unknown VNI', unknownVni, 'pass-unknown-vni']);
    for (const [what, frame, counter] of cases) {
      const before = xdpPlanCounters(p)[counter as keyof ReturnType<typeof xdpPlanCounters>];
      const x = p.testRun('underlay', frame, LO);
      t.equal(x.action, 'pass', `${what}: XDP_PASS to userspace`);
      t.same(x.frame, frame, `${what}: untouched`);
      t.equal(xdpPlanCounters(p)[counter as keyof ReturnType<typeof xdpPlanCounters>], before + 1, `${what}: counted as ${counter}`);
    }

    // Hostile frames: dropped and counted, never passed on.
    const lying = Buffer.from(outer);
    lying.writeUInt16BE(outer.length, 16); // IPv4 total length beyond the frame
    const shortUdp = Buffer.from(outer);
    shortUdp.writeUInt16BE(12, 38);
    const badFlags = Buffer.from(outer);
    badFlags[42] = 0;
    /** The outer IPv4 header checksum made right again after a length was changed. */
    const fixIp = (f: Buffer): Buffer => { f.writeUInt16BE(0, 24); f.writeUInt16BE(internetChecksum(f, 14, 20), 24); return f; };
    const badSum = Buffer.from(outer);
    badSum[24] ^= 0x40;
    const udpOf = (len: number): Buffer => { const c = Buffer.from(outer.subarray(0, 42 + Math.max(0, len - 8))); c.writeUInt16BE(20 + len, 16); c.writeUInt16BE(len, 38); return fixIp(c); };
    // Reasons and their order are the TypeScript decap stage's (xdp-differential.test.ts compares them on mutants).
    const hostile: [string, Buffer, string][] = [
      ['IPv4 total length beyond the frame', lying, 'ip-bad-length'],
      ['outer IPv4 header checksum wrong', badSum, 'ip4-bad-checksum'],
      ['UDP length below the UDP header', (() => { const c = Buffer.from(outer); c.writeUInt16BE(6, 38); return c; })(), 'udp-bad-length'],
      ['UDP length too short for the VXLAN header', shortUdp, 'truncated'],
      ['VXLAN without the I flag', badFlags, 'vxlan-bad-flags'],
      ['cut inside the VXLAN header', udpOf(12), 'truncated'],
      ['VXLAN header and nothing behind it', udpOf(16), 'zero-payload'],
      ['inner frame shorter than an Ethernet header', udpOf(16 + 10), 'inner-too-short'],
    ];
    for (const [what, frame, counter] of hostile) {
      const before = xdpPlanCounters(p)[counter as keyof ReturnType<typeof xdpPlanCounters>];
      t.equal(p.testRun('underlay', frame, LO).action, 'drop', `${what}: dropped`);
      t.equal(xdpPlanCounters(p)[counter as keyof ReturnType<typeof xdpPlanCounters>], before + 1, `${what}: counted as ${counter}`);
    }
  });

  await t.test('encap: the TypeScript stage\'s bytes, redirected to the underlay', async (t) => {
    // This host is 192.0.2.1 with VM_B on port LO (slot 2); VM_A is behind 192.0.2.2.
    p.setConfig({ localIp: '192.0.2.1', underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    p.setSlot(3, LO);
    p.setPort(LO, 1, 2);
    p.setFdb(1, VM_B, 'port', 2);
    p.setFdb(1, VM_A, 'remote', 5);
    const f = inner(VM_B, VM_A);
    const want = tsEncap(f, '192.0.2.1', '192.0.2.2');
    // The remote's template: the outer header as vtepd builds it once per remote.
    const tpl = Buffer.from(want.subarray(0, 42));
    tpl.writeUInt16BE(0, 16); tpl.writeUInt16BE(0, 24); tpl.writeUInt16BE(0, 34); tpl.writeUInt16BE(0, 38);
    p.setRemote(5, '192.0.2.2', tpl);
    const r = p.testRun('port', f, LO);
    t.equal(r.action, 'redirect');
    t.equal(r.frame.length, want.length, 'inner + 50 bytes');
    const sport = r.frame.readUInt16BE(34);
    t.ok(sport >= 49152 && sport <= 65535, `UDP source port ${sport} from the inner-flow hash, in range`);
    t.same(r.frame, want, 'byte for byte the TypeScript encap stage\'s, the source port included (the same inner-flow hash)');
    t.ok(checksumVerifies(r.frame, 14, 20), 'IPv4 header checksum verifies');
    t.equal(p.testRun('port', f, LO).frame.readUInt16BE(34), sport, 'one flow, one source port');
    t.not(p.testRun('port', inner(VM_B, VM_A, 200), LO).frame.readUInt16BE(34), -1);
    t.equal(xdpPlanCounters(p)['encap-redirect'], 3);

    // tshark, an independent decoder, reads what the program wrote.
    const dir = mkdtempSync(join(tmpdir(), 'vtepd-xdp-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'xdp-encap.pcap');
    const w = new PcapWriter(file);
    w.write(r.frame, 0, r.frame.length, r.frame.length, 0, 0);
    w.close();
    if (spawnSync('tshark', ['--version']).status === 0) {
      // Fields repeat per header (outer, inner), comma-joined; fields are |-separated.
      const fields = execFileSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-E', 'separator=|', '-e', 'vxlan.vni', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'eth.src', '-e', 'eth.dst', '-e', 'ip.checksum.status'], { encoding: 'utf8' }).trim().split('|');
      t.equal(fields[0], '100', 'tshark: VXLAN VNI 100');
      t.equal(fields[1], '192.0.2.1,10.0.0.1', 'tshark: outer source, then the inner one');
      t.equal(fields[2], '192.0.2.2,10.0.0.2', 'tshark: outer destination, then the inner one');
      t.equal(fields[3], `02:00:00:00:ff:01,${VM_B}`, 'tshark: outer and inner source MACs');
      t.equal(fields[4].split(',')[1], VM_A, 'tshark: the inner destination MAC');
      t.equal(fields[5].split(',')[0], '1', 'tshark: the outer IPv4 checksum is good');
    }

    // Local to local: bridged by redirect, no tunnel.
    p.setFdb(1, '02:00:00:00:0b:02', 'port', 4);
    p.setSlot(4, LO);
    const bridged = p.testRun('port', inner(VM_B, '02:00:00:00:0b:02'), LO);
    t.equal(bridged.action, 'redirect');
    t.equal(bridged.frame.length, 98, 'bridged as it is');
    // Left to userspace.
    t.equal(p.testRun('port', inner('02:00:00:00:0b:99', VM_A), LO).action, 'pass', 'unknown source: learning');
    t.equal(p.testRun('port', inner(VM_B, 'ff:ff:ff:ff:ff:ff'), LO).action, 'pass', 'broadcast: flooding');
    t.equal(p.testRun('port', inner(VM_B, VM_A, 1500), LO).action, 'pass', 'over the MTU once wrapped: userspace');
    const c = xdpPlanCounters(p);
    t.ok(c['pass-mtu'] >= 1 && c['pass-learn'] >= 2, 'each counted');
    t.ok(p.delFdb(1, VM_A), 'an entry deleted');
    t.equal(p.testRun('port', f, LO).action, 'pass', 'then unknown: up to userspace');
  });
});

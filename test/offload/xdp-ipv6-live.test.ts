/**
 * The xdp plan's programs attached to real interfaces, IPv6 outer: a VXLAN frame
 * over IPv6 sent on the underlay veth is decapsulated by vtepd_xdp_underlay and
 * redirected into the VM's veth, where tcpdump receives exactly the inner frame;
 * the VM's frame sent back is encapsulated by vtepd_xdp_port (UDP checksum
 * computed in the program) and redirected to the underlay, where tcpdump
 * receives the TypeScript encap stage's bytes and tshark finds the checksum good.
 * Namespaces U (the remote VTEP's side), X (this VTEP, the programs) and V (the VM).
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture } from '../../src/capture/index.js';
import { openXdpPlan, xdpPlanCounters, xdpPlanObjectPath, xdpRemoteHeader, type XdpPlanHandle } from '../../src/native/xdp-plan-native.js';
import { makeNetns, makeVethPair, nsExec, sh, startTcpdump, stopTcpdump, inNetnsAsync } from '../ports/fixtures/netns.js';
import { inner, tsEncap } from './fixtures/xdp-frames.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : !existsSync(xdpPlanObjectPath()) ? 'vtepd_xdp.bpf.o not built (npm run build:native)' : spawnSync('tcpdump', ['--version']).status !== 0 ? 'tcpdump missing' : false;
const VM_A = '02:00:00:00:0a:01'; // behind the remote
const VM_B = '02:00:00:00:0b:01'; // the local VM
const L6 = '2001:db8::1';
const R6 = '2001:db8::2';

/** Frames of a capture file. */
function frames(file: string): Buffer[] {
  const r = openCapture(file);
  const out: Buffer[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) out.push(Buffer.from(rec.data.subarray(rec.offset, rec.offset + rec.caplen)));
  r.close();
  return out;
}

/** Send raw frames out of `ifname` in `ns` (scapy's sendp: an independent sender). */
function send(ns: string, ifname: string, fs: Buffer[]): void {
  const hex = JSON.stringify(fs.map((f) => f.toString('hex')));
  nsExec(ns, '/usr/bin/python3', ['-c', `import logging; logging.getLogger("scapy").setLevel(logging.ERROR)\nfrom scapy.all import sendp, Raw\nfor h in ${hex}: sendp(Raw(bytes.fromhex(h)), iface=${JSON.stringify(ifname)}, verbose=False)`]);
}

t.test('IPv6 outer through attached programs', { skip }, async (t) => {
  const u = makeVethPair(t); // u.nsA: the remote's side (uA); u.nsB: this VTEP (uB)
  const X = u.nsB;
  const V = makeNetns(t, 'v');
  const vA = `vva${process.pid % 100000}`;
  const vB = `vvb${process.pid % 100000}`;
  sh('ip', ['link', 'add', vA, 'netns', V, 'type', 'veth', 'peer', 'name', vB, 'netns', X]);
  nsExec(V, 'sysctl', ['-qw', `net.ipv6.conf.${vA}.disable_ipv6=1`]);
  nsExec(X, 'sysctl', ['-qw', `net.ipv6.conf.${vB}.disable_ipv6=1`]);
  nsExec(V, 'ip', ['link', 'set', vA, 'up']);
  nsExec(X, 'ip', ['link', 'set', vB, 'up']);
  // Redirects into a veth need its peer in NAPI mode: GRO on the receiving ends.
  nsExec(V, 'ethtool', ['-K', vA, 'gro', 'on']);
  nsExec(u.nsA, 'ethtool', ['-K', u.ifA, 'gro', 'on']);
  const idx = (ifn: string): number => Number(nsExec(X, 'cat', [`/sys/class/net/${ifn}/ifindex`]).trim());
  const enc = { type: 'vxlan' as const, vni: 100 };
  const { stage } = tsEncap({ ...enc, local: L6, remote: R6 }, inner(VM_B, VM_A));
  const p: XdpPlanHandle = await inNetnsAsync(X, async () => {
    const plan = openXdpPlan();
    plan.setConfig({ localIp6: L6, underlaySlot: 3, udpPort: 4789, mtu: 1500, sportMin: 49152, sportMax: 65535 });
    plan.setVni(100, 1);
    plan.setSlot(2, idx(vB));
    plan.setSlot(3, idx(u.ifB));
    plan.setPort(idx(vB), 1, 2);
    plan.setRemote(0, R6, xdpRemoteHeader(stage.template, 0));
    plan.setFdb(1, VM_A, 'remote', 0);
    plan.setFdb(1, VM_B, 'port', 2);
    plan.attach('underlay', u.ifB, 'native');
    plan.attach('port', vB, 'native');
    return plan;
  });
  t.teardown(() => p.close());
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-xdp6-live-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  // Decap: remote -> VM.
  const toVm = [inner(VM_A, VM_B, 98, 1111), inner(VM_A, VM_B, 777, 2222), inner(VM_A, VM_B, 1400, 3333)];
  const vmFile = join(dir, 'vm.pcap');
  const d = await startTcpdump(V, vA, vmFile, ['ether', 'src', VM_A]);
  send(u.nsA, u.ifA, toVm.map((f) => tsEncap({ ...enc, local: R6, remote: L6 }, f).out));
  await new Promise((r) => setTimeout(r, 500));
  await stopTcpdump(d);
  t.same(frames(vmFile), toVm, 'the VM received exactly the inner frames, in order');
  t.equal(xdpPlanCounters(p)['decap-redirect'], toVm.length, 'each decapsulated and redirected by the program');

  // Encap: VM -> remote, UDP checksum computed in the program.
  const fromVm = [inner(VM_B, VM_A, 98, 4444), inner(VM_B, VM_A, 513, 5555), inner(VM_B, VM_A, 1400, 6666)];
  const upFile = join(dir, 'underlay.pcap');
  const e = await startTcpdump(u.nsA, u.ifA, upFile, ['ip6', 'and', 'udp']);
  send(V, vA, fromVm);
  await new Promise((r) => setTimeout(r, 500));
  await stopTcpdump(e);
  const got = frames(upFile);
  t.same(got, fromVm.map((f) => tsEncap({ ...enc, local: L6, remote: R6 }, f).out), 'the underlay received the TypeScript encap stage\'s bytes');
  t.equal(xdpPlanCounters(p)['encap-redirect'], fromVm.length, 'each encapsulated and redirected by the program');
  if (spawnSync('tshark', ['--version']).status === 0) {
    const st = execFileSync('tshark', ['-r', upFile, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-e', 'udp.checksum.status', '-e', 'vxlan.vni'], { encoding: 'utf8' }).trim().split('\n');
    t.same(st.map((l) => l.split('\t')[0].split(',')[0]), fromVm.map(() => '1'), 'tshark: every outer UDP checksum good');
    t.same(st.map((l) => l.split('\t')[1]), fromVm.map(() => '100'), 'tshark: VXLAN VNI 100');
  }
});

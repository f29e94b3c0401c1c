/** Test helpers: build captures with scapy, read them into batches with chosen ingress ports. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PacketBatch } from '../../src/batch/packet-batch.js';
import { openCapture } from '../../src/capture/index.js';

export const PY = '/usr/bin/python3';

export function tmpDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), `vtepd-l2-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Run a scapy script body that appends packets to `pk` (each with `.time` set);
 * the helpers `vx(remote_ip, vni, src, dst, t)` (VXLAN over IPv4 to 10.0.0.1),
 * `plain(src, dst, t, vlan=None)` are predefined. Returns the pcap path.
 */
export function scapyPcap(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.pcap`);
  const script = `
from scapy.all import Ether, IP, IPv6, UDP, ICMP, ARP, Dot1Q, Raw, wrpcap
from scapy.layers.vxlan import VXLAN
pk = []
def inner(src, dst, vlan=None):
    e = Ether(src=src, dst=dst)
    if vlan is not None:
        e = e / Dot1Q(vlan=vlan)
    return e / IP(src='192.168.0.1', dst='192.168.0.2') / ICMP() / Raw(b'x' * 18)
def vx(rip, vni, src, dst, t, v6=False):
    ip = IPv6(src=rip, dst='fd00::1') if v6 else IP(src=rip, dst='10.0.0.1')
    p = Ether(src='02:aa:00:00:00:01', dst='02:bb:00:00:00:01') / ip / UDP(sport=49152, dport=4789) / VXLAN(vni=vni) / inner(src, dst)
    p.time = t
    pk.append(p)
def plain(src, dst, t, vlan=None):
    p = inner(src, dst, vlan)
    p.time = t
    pk.append(p)
${body}
wrpcap(${JSON.stringify(path)}, pk)
`;
  writeFileSync(join(dir, `${name}.py`), script);
  execFileSync(PY, [join(dir, `${name}.py`)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return path;
}

/** Every frame of a capture in one batch; frame k enters on ports[k] (default 0). */
export function loadBatch(path: string, ports: number[] = []): PacketBatch {
  const r = openCapture(path);
  const frames: { data: Uint8Array; len: number; wire: number; s: number; ns: number }[] = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    frames.push({ data: rec.data.slice(rec.offset, rec.offset + rec.caplen), len: rec.caplen, wire: rec.len, s: rec.tsSec, ns: rec.tsNsec });
  }
  r.close();
  const b = new PacketBatch({ capacity: Math.max(1, frames.length) });
  frames.forEach((f, k) => b.append(f.data, 0, f.len, f.wire, f.s, f.ns, ports[k] ?? 0));
  return b;
}

/** One-frame batch k of a loaded batch (to run frames one at a time). */
export function single(src: PacketBatch, k: number): PacketBatch {
  const b = new PacketBatch({ capacity: 1 });
  b.append(src.data, src.offset[k], src.length[k], src.wireLength[k], src.tsSec[k], src.tsNsec[k], src.inPort[k]);
  return b;
}

export function tshark(file: string, fields: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}

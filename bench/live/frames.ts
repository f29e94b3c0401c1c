/**
 * The live benchmark's template frames. The inner frame is `size` bytes without
 * FCS (60 = a minimum 64-byte frame on the wire), ethertype 0x88b5 (IEEE local
 * experimental: no host stack touches it), zero payload. The decap direction
 * wraps it in Ethernet + IPv4 + UDP + VXLAN (50 bytes) as a remote VTEP would,
 * with a correct IPv4 header checksum and no UDP checksum.
 */
import { fillChecksum } from '../../src/packet/checksum.js';

export const VXLAN_OVERHEAD = 50;

export function macBytes(m: string): number[] {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(m)) throw new Error(`bad MAC "${m}"`);
  return m.split(':').map((x) => parseInt(x, 16));
}
function ipBytes(a: string): number[] {
  const p = a.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address "${a}"`);
  return p;
}

export function innerFrame(size: number, dst: string, src: string): Uint8Array {
  if (!Number.isInteger(size) || size < 60 || size > 1500) throw new RangeError(`frame size must be 60..1500, got ${size}`);
  const f = new Uint8Array(size);
  f.set([...macBytes(dst), ...macBytes(src), 0x88, 0xb5]);
  return f;
}

export interface OuterSpec { dstMac: string; srcMac: string; srcIp: string; dstIp: string; vni: number; srcPort: number }

export function vxlanFrame(inner: Uint8Array, o: OuterSpec): Uint8Array {
  const f = new Uint8Array(inner.length + VXLAN_OVERHEAD);
  const dv = new DataView(f.buffer);
  f.set([...macBytes(o.dstMac), ...macBytes(o.srcMac), 0x08, 0x00]);
  // IPv4: version 4, IHL 5, DF, TTL 64, UDP.
  dv.setUint8(14, 0x45);
  dv.setUint16(16, inner.length + 36);
  dv.setUint16(20, 0x4000);
  dv.setUint8(22, 64);
  dv.setUint8(23, 17);
  f.set(ipBytes(o.srcIp), 26);
  f.set(ipBytes(o.dstIp), 30);
  fillChecksum(f, 24, 14, 20);
  dv.setUint16(34, o.srcPort);
  dv.setUint16(36, 4789);
  dv.setUint16(38, inner.length + 16);
  dv.setUint8(42, 0x08); // VXLAN flags: I (VNI valid)
  dv.setUint32(46, o.vni << 8);
  f.set(inner, VXLAN_OVERHEAD);
  return f;
}

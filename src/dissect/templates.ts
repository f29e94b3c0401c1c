/**
 * Sample frames built with the codecs' writers: the benchmark's traffic mix
 * and test material whose every field is known. Built once (allocates).
 */
import { writeEthernet } from '../packet/ethernet.js';
import { writeVlan } from '../packet/vlan.js';
import { writeIpv4 } from '../packet/ipv4.js';
import { writeIpv6, parseIpv6 } from '../packet/ipv6.js';
import { writeUdp, udpFillChecksum6 } from '../packet/udp.js';
import { writeVxlan } from '../packet/vxlan.js';
import { writeGeneve, writeGeneveOption } from '../packet/geneve.js';
import { writeNvgre } from '../packet/nvgre.js';

const MAC_A = [0x0200, 0x0000000a] as const;
const MAC_B = [0x0200, 0x0000000b] as const;
const V4_A = 0x0a000001; // 10.0.0.1
const V4_B = 0x0a000002;

/** Inner Ethernet + IPv4 + TCP header + `pay` bytes of payload. Returns its length. */
function innerTcp(b: Uint8Array, off: number, pay: number, sport: number): number {
  let p = off + writeEthernet(b, off, MAC_B[0], MAC_B[1], MAC_A[0], MAC_A[1], 0x0800);
  const ip = p;
  p += writeIpv4(b, ip, 0, 20 + 20 + pay, 1, 0x4000, 64, 6, 0xc0a80001, 0xc0a80002);
  b[p] = sport >>> 8; b[p + 1] = sport & 0xff; b[p + 2] = 0; b[p + 3] = 80;
  b[p + 12] = 0x50; b[p + 13] = 0x18;
  p += 20;
  for (let i = 0; i < pay; i++) b[p + i] = i & 0xff;
  return p + pay - off;
}

/** Outer Ethernet/IPv4/UDP to `dport` around `inner` bytes already at off+42. */
function outerUdp4(b: Uint8Array, off: number, innerLen: number, dport: number, sport: number): number {
  writeEthernet(b, off, MAC_A[0], MAC_A[1], MAC_B[0], MAC_B[1], 0x0800);
  writeIpv4(b, off + 14, 0, 20 + 8 + innerLen, 7, 0x4000, 64, 17, V4_A, V4_B);
  writeUdp(b, off + 34, sport, dport, 8 + innerLen);
  return 42 + innerLen;
}

export interface SampleFrame {
  name: string;
  bytes: Uint8Array;
}

/** The benchmark's mix: VXLAN v4/v6, GENEVE with options, NVGRE, VLAN, QinQ, plain, nested. */
export function sampleFrames(): SampleFrame[] {
  const out: SampleFrame[] = [];
  const mk = (name: string, build: (b: Uint8Array) => number): void => {
    const b = new Uint8Array(2048);
    out.push({ name, bytes: b.slice(0, build(b)) });
  };
  mk('vxlan4', (b) => {
    const n = writeVxlan(b, 42, 5001) + innerTcp(b, 50, 64, 1234);
    return outerUdp4(b, 0, n, 4789, 49152);
  });
  mk('vxlan6', (b) => {
    writeEthernet(b, 0, MAC_A[0], MAC_A[1], MAC_B[0], MAC_B[1], 0x86dd);
    const n = writeVxlan(b, 62, 6002) + innerTcp(b, 70, 32, 2345);
    const addrs = new Uint8Array(32);
    parseIpv6('2001:db8::1', addrs, 0);
    parseIpv6('2001:db8::2', addrs, 16);
    writeIpv6(b, 14, 0, 0x12345, 8 + n, 17, 64, addrs, 0, 16);
    writeUdp(b, 54, 50000, 4789, 8 + n);
    udpFillChecksum6(b, 14, 54);
    return 62 + n;
  });
  mk('geneve-opts', (b) => {
    const opts = new Uint8Array(32);
    let o = writeGeneveOption(opts, 0, 0x0102, 0x80, null, 0, 8);
    o += writeGeneveOption(opts, o, 0xffff, 0x05, null, 0, 4);
    const g = writeGeneve(b, 42, 7003, 0x6558, 0, 1, opts, 0, o);
    return outerUdp4(b, 0, g + innerTcp(b, 42 + g, 48, 3456), 6081, 40000);
  });
  mk('nvgre', (b) => {
    writeEthernet(b, 0, MAC_A[0], MAC_A[1], MAC_B[0], MAC_B[1], 0x0800);
    const n = writeNvgre(b, 34, 0x123456, 0x42) + innerTcp(b, 42, 40, 4567);
    writeIpv4(b, 14, 0, 20 + n, 9, 0x4000, 64, 47, V4_A, V4_B);
    return 34 + n;
  });
  mk('vlan', (b) => {
    writeEthernet(b, 0, MAC_A[0], MAC_A[1], MAC_B[0], MAC_B[1], 0x8100);
    writeVlan(b, 14, 3, 0, 100, 0x0800);
    const ip = b.subarray(18);
    const inner = innerTcp(ip, 0, 80, 5678) - 14;
    ip.copyWithin(0, 14, 14 + inner);
    return 18 + inner;
  });
  mk('qinq', (b) => {
    writeEthernet(b, 0, MAC_A[0], MAC_A[1], MAC_B[0], MAC_B[1], 0x88a8);
    writeVlan(b, 14, 0, 0, 200, 0x8100);
    writeVlan(b, 18, 5, 1, 2001, 0x0800);
    const ip = b.subarray(22);
    const inner = innerTcp(ip, 0, 26, 6789) - 14;
    ip.copyWithin(0, 14, 14 + inner);
    return 22 + inner;
  });
  mk('plain', (b) => innerTcp(b, 0, 100, 7890));
  mk('nested', (b) => {
    // VXLAN(1) > GENEVE(2) > VXLAN(3) > TCP: inner-most first, wrapping outward.
    const inner = innerTcp(b, 42 + 8 + 42 + 8 + 42 + 8, 16, 1111);
    let n = writeVxlan(b, 42 + 8 + 42 + 8 + 42, 3) + inner;
    outerUdp4(b, 42 + 8 + 42 + 8, n, 4789, 50003);
    n += 42;
    n += writeGeneve(b, 42 + 8 + 42, 2, 0x6558, 0, 0, null, 0, 0);
    outerUdp4(b, 42 + 8, n, 6081, 50002);
    n += 42;
    n += writeVxlan(b, 42, 1);
    return outerUdp4(b, 0, n, 4789, 50001);
  });
  return out;
}

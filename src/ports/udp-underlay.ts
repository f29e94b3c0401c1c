/**
 * Underlay over kernel UDP sockets (VXLAN 4789 / GENEVE 6081): the kernel builds
 * and strips outer IP/UDP, routes, resolves neighbours and never answers the
 * tunnel port with ICMP port-unreachable (the port is bound).
 *
 * Receive: each datagram is staged with the sender in remoteAddr (IPv4 in word
 * 0, or 4 words + REMOTE_V6) and its source port in `entropy`. By default the
 * port writes a synthetic outer Ethernet/IP/UDP header in front of the payload
 * (addresses and ports as received; UDP checksum 0 on IPv4, computed on IPv6)
 * so the ordinary decap stage takes it unchanged; with `synthesizeOuter: false`
 * frames start at the tunnel header (payload = 'tunnel-header').
 * Transmit: frames as built by encap (l3/l4 set): destination address and port
 * are read from the outer headers and the UDP payload is sent. Frames without
 * l4 are sent as payload to remoteAddr:port. The kernel picks the source port:
 * the one we are bound to, so per-flow source-port entropy is lost (RFC 7348
 * recommends it for ECMP); use the AF_PACKET underlay where that matters.
 *
 * Node's dgram allocates per datagram (a Buffer per message, a string address):
 * this backend is the simple, portable one, not the fast one.
 */
import dgram from 'node:dgram';
import type { PacketBatch } from '../batch/packet-batch.js';
import { NONE, PacketFlag } from '../batch/packet-batch.js';
import { internetChecksum, pseudoHeaderSum6 } from '../packet/checksum.js';
import { addressFamily, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './addr.js';
import { PortCounters, PortDrop } from './counters.js';
import { aliveStats, countLateSendError, countReceived, countSent, type Port } from './port.js';
import { Staging, stampNow } from './staging.js';

export interface UdpUnderlayOptions {
  /** Local address to bind (its family selects udp4/udp6). */
  localAddress: string;
  /** Tunnel UDP port (4789 VXLAN, 6081 GENEVE). */
  port: number;
  name?: string;
  index?: number;
  /** Present frames with a synthetic outer Ethernet/IP/UDP header (default true). */
  synthesizeOuter?: boolean;
  recvBufferSize?: number;
  sendBufferSize?: number;
  ttl?: number;
  staging?: number;
}

const OUTER4 = 14 + 20 + 8;
const OUTER6 = 14 + 40 + 8;

export class UdpUnderlay implements Port {
  readonly kind = 'udp' as const;
  readonly payload: 'ethernet' | 'tunnel-header';
  readonly name: string;
  readonly index: number;
  readonly port: number;
  readonly counters = new PortCounters();
  readonly socket: dgram.Socket;
  private readonly v6: boolean;
  private readonly local = new Uint32Array(4);
  private readonly synth: boolean;
  private readonly staging: Staging;
  private readonly destCache = new Map<number, string>(); // IPv4 u32 -> text (numeric keys)
  private readonly tmpAddr = new Uint32Array(4);
  private closed = false;

  private constructor(opts: UdpUnderlayOptions, socket: dgram.Socket) {
    this.name = opts.name ?? `udp:${opts.port}`;
    this.index = opts.index ?? 0;
    this.port = opts.port;
    this.socket = socket;
    this.v6 = addressFamily(opts.localAddress) === 6;
    if (this.v6) parseIPv6(opts.localAddress, this.local, 0);
    else this.local[0] = parseIPv4(opts.localAddress);
    this.synth = opts.synthesizeOuter ?? true;
    this.payload = this.synth ? 'ethernet' : 'tunnel-header';
    this.staging = new Staging(opts.staging ?? 1024, 2048, 128);
    socket.on('message', this.onMessage);
  }

  /** Bind and resolve once listening; bind errors (EADDRINUSE, EADDRNOTAVAIL) reject with the address named. */
  static async open(opts: UdpUnderlayOptions): Promise<UdpUnderlay> {
    const fam = addressFamily(opts.localAddress);
    if (fam === 0) throw new Error(`udp underlay: '${opts.localAddress}' is not an IP address`);
    const socket = dgram.createSocket({ type: fam === 6 ? 'udp6' : 'udp4', ipv6Only: fam === 6,
      recvBufferSize: opts.recvBufferSize, sendBufferSize: opts.sendBufferSize });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (e) => reject(new Error(`udp underlay bind ${opts.localAddress}:${opts.port}: ${e.message}`)));
      socket.bind({ address: opts.localAddress, port: opts.port, exclusive: true }, () => resolve());
    });
    if (opts.ttl !== undefined) socket.setTTL(opts.ttl);
    return new UdpUnderlay(opts, socket);
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const s = this.staging;
    const i = s.reserve();
    if (i < 0) { this.counters.drops[PortDrop['staging-full']]++; return; }
    const b = s.batch;
    const v6 = rinfo.family === 'IPv6';
    const outer = this.synth ? (v6 ? OUTER6 : OUTER4) : 0;
    if (msg.length + outer > b.dataRoom) { this.counters.drops[PortDrop.oversize]++; return; }
    b.append(msg, 0, msg.length, msg.length, 0, 0, this.index);
    stampNow(b, i);
    const ra = b.remoteAddr;
    if (v6) { parseIPv6(rinfo.address, ra, i << 2); b.flags[i] = PacketFlag.REMOTE_V6; } else ra[i << 2] = parseIPv4(rinfo.address);
    b.entropy[i] = rinfo.port;
    b.l2[i] = NONE;
    if (outer > 0) this.prependOuter(b, i, v6, rinfo.port, msg.length);
    s.schedule();
  };

  /** Synthetic Ethernet + IP + UDP in the headroom, as the wire had them (MACs zero). */
  private prependOuter(b: PacketBatch, i: number, v6: boolean, sport: number, plen: number): void {
    const d = b.data;
    const v = b.view;
    const ip = b.offset[i] - (v6 ? OUTER6 : OUTER4) + 14;
    const o = ip - 14;
    d.fill(0, o, o + 12);
    v.setUint16(o + 12, v6 ? 0x86dd : 0x0800);
    const ra = b.remoteAddr;
    const r = i << 2;
    let udp: number;
    if (!v6) {
      d.fill(0, ip, ip + 20);
      v.setUint8(ip, 0x45);
      v.setUint16(ip + 2, 28 + plen);
      v.setUint8(ip + 8, 64);
      v.setUint8(ip + 9, 17);
      v.setUint32(ip + 12, ra[r]);
      v.setUint32(ip + 16, this.local[0]);
      v.setUint16(ip + 10, internetChecksum(d, ip, 20));
      udp = ip + 20;
    } else {
      v.setUint32(ip, 0x60000000);
      v.setUint16(ip + 4, 8 + plen);
      v.setUint8(ip + 6, 17);
      v.setUint8(ip + 7, 64);
      for (let w = 0; w < 4; w++) { v.setUint32(ip + 8 + 4 * w, ra[r + w]); v.setUint32(ip + 24 + 4 * w, this.local[w]); }
      udp = ip + 40;
    }
    v.setUint16(udp, sport);
    v.setUint16(udp + 2, this.port);
    v.setUint16(udp + 4, 8 + plen);
    v.setUint16(udp + 6, 0);
    if (v6) {
      const c = internetChecksum(d, udp, 8 + plen, pseudoHeaderSum6(d, ip + 8, ip + 24, 17, 8 + plen));
      v.setUint16(udp + 6, c === 0 ? 0xffff : c);
    }
    b.offset[i] = o;
    b.length[i] += udp + 8 - o;
    b.wireLength[i] = b.length[i];
    b.l2[i] = 0;
    b.l3[i] = ip - o;
    b.l4[i] = udp - o;
  }

  receive(batch: PacketBatch): number {
    const start = batch.count;
    return countReceived(this.counters, batch, start, this.staging.pull(batch, this.index));
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    const end = start + count;
    if (this.closed) { this.counters.drops[PortDrop['tx-error']] += aliveStats(batch, start, end).frames; return 0; }
    const v = batch.view;
    let sent = 0;
    let bytes = 0;
    for (let i = start; i < end; i++) {
      if (batch.drop[i] !== 0) continue;
      let off = batch.offset[i];
      let len = batch.length[i];
      let dport = this.port;
      let dest: string | undefined;
      const l3 = batch.l3[i];
      const l4 = batch.l4[i];
      if (l4 !== NONE && l3 !== NONE) {
        const ipv = batch.data[off + l3] >> 4;
        dport = v.getUint16(off + l4 + 2);
        if (ipv === 4) dest = this.dest4(v.getUint32(off + l3 + 16));
        else if (ipv === 6) {
          for (let w = 0; w < 4; w++) this.tmpAddr[w] = v.getUint32(off + l3 + 24 + 4 * w);
          dest = formatIPv6(this.tmpAddr, 0);
        }
        len -= l4 + 8;
        off += l4 + 8;
      } else if ((batch.flags[i] & PacketFlag.REMOTE_V6) !== 0) {
        dest = formatIPv6(batch.remoteAddr, i << 2);
      } else if (batch.remoteAddr[i << 2] !== 0) {
        dest = this.dest4(batch.remoteAddr[i << 2]);
      }
      if (dest === undefined || len < 0) { this.counters.drops[PortDrop['no-route']]++; continue; }
      // dgram sends after a lookup tick: give it its own copy, the slab is reused.
      this.socket.send(Buffer.from(batch.data.subarray(off, off + len)), dport, dest, this.onSent);
      sent++;
      bytes += len;
    }
    return countSent(this.counters, sent, bytes);
  }

  private readonly onSent = (err: Error | null): void => {
    if (err !== null) countLateSendError(this.counters, (err as NodeJS.ErrnoException).code ?? err.message);
  };

  private dest4(a: number): string {
    let s = this.destCache.get(a);
    if (s === undefined) {
      s = formatIPv4(a);
      if (this.destCache.size < 4096) this.destCache.set(a, s);
    }
    return s;
  }

  onReadable(cb: (() => void) | null): void { this.staging.setCallback(cb); }
  pollStats(): void { /* kernel UDP drops are host-wide (/proc/net/snmp), not per socket here */ }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.staging.setCallback(null);
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/**
 * Underlay over a raw IP socket (npm `raw-socket`), for NVGRE: IP protocol 47.
 * IP level only: the kernel builds the outer IP header on send and routes; on
 * receive IPv4 raw sockets give the whole IP packet (header included), IPv6 raw
 * sockets the payload only. Frames are presented with a synthetic Ethernet
 * header (and, for IPv6, a rebuilt IPv6 header) so the decap stage takes them
 * unchanged; the sender is also recorded in remoteAddr.
 * A raw socket on protocol 47 also stops the kernel answering GRE with ICMP
 * protocol-unreachable (raw delivery counts as a handler).
 * Transmit takes frames as built by encap (l3/l4 set): the GRE header onward is
 * sent to the outer IP destination. raw-socket sends asynchronously, so each
 * frame is copied into its own Buffer (slow path, like the dgram backend).
 */
import { createRequire } from 'node:module';
import type { PacketBatch } from '../batch/packet-batch.js';
import { NONE, PacketFlag } from '../batch/packet-batch.js';
import { addressFamily, formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './addr.js';
import { PortCounters, PortDrop } from './counters.js';
import { withNetns } from './netns.js';
import { countLateSendError, countReceived, countSent, type Port } from './port.js';
import { Staging, stampNow } from './staging.js';

interface RawSocket {
  on(ev: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
  send(buf: Buffer, off: number, len: number, addr: string, cb: (err: Error | null, bytes: number) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

export const IPPROTO_GRE = 47;

export interface RawIpUnderlayOptions {
  /** Local address; its family selects IPv4 or IPv6. */
  localAddress: string;
  protocol?: number;
  name?: string;
  index?: number;
  netns?: string;
  staging?: number;
}

export class RawIpUnderlay implements Port {
  readonly kind = 'raw-ip' as const;
  readonly payload = 'ethernet' as const;
  readonly name: string;
  readonly index: number;
  readonly protocol: number;
  readonly counters = new PortCounters();
  private readonly socket: RawSocket;
  private readonly v6: boolean;
  private readonly local = new Uint32Array(4);
  private readonly staging = new Staging(1024, 2048, 128);
  private readonly tmp = new Uint32Array(4);
  private closed = false;

  constructor(opts: RawIpUnderlayOptions) {
    const fam = addressFamily(opts.localAddress);
    if (fam === 0) throw new Error(`raw-ip underlay: '${opts.localAddress}' is not an IP address`);
    this.v6 = fam === 6;
    if (this.v6) parseIPv6(opts.localAddress, this.local, 0);
    else this.local[0] = parseIPv4(opts.localAddress);
    this.protocol = opts.protocol ?? IPPROTO_GRE;
    this.name = opts.name ?? `raw:${this.protocol}`;
    this.index = opts.index ?? 0;
    const raw = createRequire(import.meta.url)('raw-socket') as RawModule;
    try {
      this.socket = withNetns(opts.netns, () => raw.createSocket({ protocol: this.protocol,
        addressFamily: this.v6 ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4, bufferSize: 65535 }));
    } catch (e) {
      const m = (e as Error).message;
      throw new Error(`raw IP socket (protocol ${this.protocol}): ${m}${/permit/i.test(m) ? ': needs root or CAP_NET_RAW' : ''}`);
    }
    this.socket.on('message', this.onMessage);
    this.socket.on('error', (e) => { this.counters.lastTxError = e.message; });
  }

  private readonly onMessage = (buf: Buffer, source: string): void => {
    const s = this.staging;
    const i = s.reserve();
    if (i < 0) { this.counters.drops[PortDrop['staging-full']]++; return; }
    const b = s.batch;
    const hdr = this.v6 ? 14 + 40 : 14;
    if (buf.length + hdr > b.dataRoom || buf.length < (this.v6 ? 4 : 24)) { this.counters.drops[PortDrop.oversize]++; return; }
    b.append(buf, 0, buf.length, buf.length, 0, 0, this.index);
    stampNow(b, i);
    const r = i << 2;
    if (this.v6) { parseIPv6(source, b.remoteAddr, r); b.flags[i] = PacketFlag.REMOTE_V6; } else b.remoteAddr[r] = parseIPv4(source);
    const d = b.data;
    const v = b.view;
    let o = b.offset[i];
    if (this.v6) {
      o -= 40;
      v.setUint32(o, 0x60000000);
      v.setUint16(o + 4, buf.length);
      d[o + 6] = this.protocol;
      d[o + 7] = 64;
      for (let w = 0; w < 4; w++) { v.setUint32(o + 8 + 4 * w, b.remoteAddr[r + w]); v.setUint32(o + 24 + 4 * w, this.local[w]); }
    }
    o -= 14;
    d.fill(0, o, o + 12);
    v.setUint16(o + 12, this.v6 ? 0x86dd : 0x0800);
    b.length[i] += b.offset[i] - o;
    b.wireLength[i] = b.length[i];
    b.offset[i] = o;
    b.l2[i] = 0;
    b.l3[i] = 14;
    b.l4[i] = this.v6 ? 54 : 14 + ((d[o + 14] & 15) << 2);
    s.schedule();
  };

  receive(batch: PacketBatch): number {
    const start = batch.count;
    return countReceived(this.counters, batch, start, this.staging.pull(batch, this.index));
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    const v = batch.view;
    let sent = 0;
    let bytes = 0;
    for (let i = start; i < start + count; i++) {
      if (batch.drop[i] !== 0) continue;
      const off = batch.offset[i];
      const l3 = batch.l3[i];
      const l4 = batch.l4[i];
      let dest: string | undefined;
      let p = off;
      if (l3 !== NONE && l4 !== NONE) {
        p = off + l4;
        if (batch.data[off + l3] >> 4 === 4) dest = formatIPv4(v.getUint32(off + l3 + 16));
        else { for (let w = 0; w < 4; w++) this.tmp[w] = v.getUint32(off + l3 + 24 + 4 * w); dest = formatIPv6(this.tmp, 0); }
      } else if ((batch.flags[i] & PacketFlag.REMOTE_V6) !== 0) dest = formatIPv6(batch.remoteAddr, i << 2);
      else if (batch.remoteAddr[i << 2] !== 0) dest = formatIPv4(batch.remoteAddr[i << 2]);
      const len = off + batch.length[i] - p;
      if (this.closed || dest === undefined || len <= 0) { this.counters.drops[PortDrop['no-route']]++; continue; }
      this.socket.send(Buffer.from(batch.data.subarray(p, p + len)), 0, len, dest, this.onSent);
      sent++;
      bytes += len;
    }
    return countSent(this.counters, sent, bytes);
  }

  private readonly onSent = (err: Error | null): void => {
    if (err !== null) countLateSendError(this.counters, err.message);
  };

  onReadable(cb: (() => void) | null): void { this.staging.setCallback(cb); }
  pollStats(): void { /* no per-socket kernel drop counter through raw-socket */ }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.staging.setCallback(null);
    this.socket.close();
  }
}

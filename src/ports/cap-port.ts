/**
 * libpcap port through the npm `cap` package: the portable fallback, with a BPF
 * filter compiled by libpcap. `cap` emits one 'packet' event per frame into the
 * one Buffer given to open(); that Buffer is kept referenced on the port for its
 * whole life (if it is collected, libpcap writes into freed memory and the
 * process crashes). Frames are staged and handed out a batch at a time.
 */
import { createRequire } from 'node:module';
import type { PacketBatch } from '../batch/packet-batch.js';
import { PortCounters, PortDrop } from './counters.js';
import { withNetns } from './netns.js';
import { aliveBytesPrefix, aliveStats, countReceived, type Port } from './port.js';
import { Staging, stampNow } from './staging.js';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  send(buffer: Buffer, nbytes?: number): void;
  on(ev: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(ev?: string): void;
}

/**
 * Closed or failed `cap` handles and their Buffers, kept until exit: `cap`'s
 * native side can still touch both after close()/a failed open() (a GC of
 * either crashed the process in our tests), and ports are not opened often.
 */
const retired: Array<{ cap: CapHandle; buf: Buffer }> = [];

export interface CapPortOptions {
  interface: string;
  name?: string;
  index?: number;
  netns?: string;
  /** BPF filter in pcap-filter syntax ('' = everything). */
  filter?: string;
  /**
   * libpcap kernel buffer in bytes (default 32 MiB). `cap` fixes the snap length
   * at 65535, so each ring slot is ~64 KiB: 32 MiB holds only ~500 frames, and
   * bursts beyond that are dropped by the kernel (not visible: `cap` has no stats).
   */
  bufferSize?: number;
  /** Frames staged between receive() calls (default 1024). */
  staging?: number;
  dataRoom?: number;
}

export class CapPort implements Port {
  readonly kind = 'cap' as const;
  readonly payload = 'ethernet' as const;
  readonly name: string;
  readonly index: number;
  readonly counters = new PortCounters();
  readonly linkType: string;
  private cap: CapHandle | null;
  /** Must outlive the capture: libpcap copies every frame into it. */
  private readonly rxBuf = Buffer.alloc(65536);
  private readonly txBuf = Buffer.alloc(65536);
  private readonly staging: Staging;

  constructor(opts: CapPortOptions) {
    const require = createRequire(import.meta.url);
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    this.name = opts.name ?? opts.interface;
    this.index = opts.index ?? 0;
    this.staging = new Staging(opts.staging ?? 1024, opts.dataRoom ?? 2048);
    const cap = new Cap();
    try {
      this.linkType = withNetns(opts.netns, () => cap.open(opts.interface, opts.filter ?? '', opts.bufferSize ?? 32 << 20, this.rxBuf));
    } catch (e) {
      retired.push({ cap, buf: this.rxBuf });
      throw new Error(`cap (libpcap) open '${opts.interface}'${opts.filter ? ` with filter '${opts.filter}'` : ''}: ${(e as Error).message}` +
        (/permission|not permitted/i.test((e as Error).message) ? ': needs root or CAP_NET_RAW/CAP_NET_ADMIN' : ''));
    }
    if (this.linkType !== 'ETHERNET') {
      cap.close();
      retired.push({ cap, buf: this.rxBuf });
      throw new Error(`cap port '${this.name}': link type ${this.linkType}, only Ethernet is supported`);
    }
    cap.on('packet', this.onPacket);
    this.cap = cap;
  }

  private readonly onPacket = (nbytes: number, truncated: boolean): void => {
    const s = this.staging;
    const i = s.reserve();
    const b = s.batch;
    if (i < 0) { this.counters.drops[PortDrop['staging-full']]++; return; }
    if (truncated || nbytes > b.dataRoom || nbytes < 14) { this.counters.drops[PortDrop.oversize]++; return; }
    b.append(this.rxBuf, 0, nbytes, nbytes, 0, 0, this.index);
    stampNow(b, i);
    s.schedule();
  };

  receive(batch: PacketBatch): number {
    const start = batch.count;
    return countReceived(this.counters, batch, start, this.staging.pull(batch, this.index));
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    const end = start + count;
    const alive = aliveStats(batch, start, end);
    let sent = 0;
    for (let i = start; i < end && this.cap !== null; i++) {
      if (batch.drop[i] !== 0) continue;
      const len = batch.length[i];
      // cap sends from position 0 of a Buffer: copy into the one reused tx Buffer.
      this.txBuf.set(batch.data.subarray(batch.offset[i], batch.offset[i] + len), 0);
      try { this.cap.send(this.txBuf, len); sent++; } catch (e) { this.counters.lastTxError = (e as Error).message; break; }
    }
    this.counters.txPackets += sent;
    this.counters.txBytes += sent === alive.frames ? alive.bytes : aliveBytesPrefix(batch, start, end, sent);
    this.counters.drops[PortDrop['tx-error']] += alive.frames - sent;
    return sent;
  }

  onReadable(cb: (() => void) | null): void { this.staging.setCallback(cb); }

  pollStats(): void { /* `cap` exposes no pcap_stats: kernel drops are not visible through this backend */ }

  async close(): Promise<void> {
    if (this.cap === null) return;
    this.cap.removeAllListeners('packet');
    this.cap.close();
    retired.push({ cap: this.cap, buf: this.rxBuf });
    this.cap = null;
    this.staging.setCallback(null);
  }
}

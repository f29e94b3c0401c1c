/**
 * Shared receive/transmit for the addon-backed ports (AF_PACKET, TAP): one
 * N-API call per batch each way; counters updated once per batch.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView } from '../batch/native-batch.js';
import { PortCounters, PortDrop } from './counters.js';
import type { NativeAddon, NativeBatchView, NativeRxTx } from '../native/addon.js';
import { aliveBytesPrefix, aliveStats, type Port, type PortKind } from './port.js';

export abstract class NativePort implements Port {
  abstract readonly kind: PortKind;
  readonly payload = 'ethernet' as const;
  readonly counters = new PortCounters();
  protected closed = false;
  /**
   * Set when readiness reported an error (e.g. the interface was deleted: the
   * socket gets ENETDOWN and libuv stops polling). The callback still runs once
   * so the owner sees it; the port then needs reopening.
   */
  pollError: string | null = null;

  constructor(readonly name: string, readonly index: number, protected readonly sock: NativeRxTx,
    protected readonly native: NativeAddon) {}

  // The BatchView of the batch used last (a port sees one or two batches for its life).
  private lastBatch: PacketBatch | null = null;
  private lastView: NativeBatchView | null = null;

  protected viewOf(batch: PacketBatch): NativeBatchView {
    if (batch !== this.lastBatch) {
      this.lastView = nativeBatchView(batch);
      this.lastBatch = batch;
    }
    return this.lastView!;
  }

  /** Kernel-side name and index of the interface. */
  get interfaceName(): string { return this.sock.interface; }
  get ifindex(): number { return this.sock.ifindex; }

  /** Extra per-backend argument to rxBurst/txBurst (TAP vnet header fields). */
  protected rxExtra(_batch: PacketBatch): Uint16Array | undefined { return undefined; }
  protected txExtra(_batch: PacketBatch): Uint16Array | undefined { return undefined; }

  receive(batch: PacketBatch): number {
    const start = batch.count;
    const room = batch.capacity - start;
    if (room <= 0 || this.closed) return 0;
    const n = this.sock.rxBurst(this.viewOf(batch), start, room, this.rxExtra(batch));
    const end = start + n;
    const port = this.index;
    let bytes = 0;
    for (let i = start; i < end; i++) {
      batch.inPort[i] = port;
      batch.resetMeta(i);
      bytes += batch.length[i];
    }
    batch.count = end;
    this.counters.rxPackets += n;
    this.counters.rxBytes += bytes;
    return n;
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    if (count <= 0) return 0;
    const alive = aliveStats(batch, start, start + count);
    if (alive.frames === 0) return 0;
    if (this.closed) {
      this.counters.drops[PortDrop['tx-error']] += alive.frames;
      this.counters.lastTxError = 'EBADF';
      return 0;
    }
    const sent = this.sock.txBurst(this.viewOf(batch), start, count, this.txExtra(batch));
    const c = this.counters;
    c.txPackets += sent;
    if (sent === alive.frames) {
      c.txBytes += alive.bytes;
    } else {
      // Slow path: why the rest was not sent. Bytes: the sent frames are counted as the
      // first `sent` alive ones (exact unless a frame in the middle was refused).
      c.txBytes += aliveBytesPrefix(batch, start, start + count, sent);
      const full = this.sock.lastTxFull();
      c.drops[PortDrop['tx-ring-full']] += full;
      c.drops[PortDrop['tx-error']] += alive.frames - sent - full;
      const e = this.sock.lastTxErrno();
      if (e !== 0) c.lastTxError = this.native.errnoName(e);
    }
    return sent;
  }

  onReadable(cb: (() => void) | null): void {
    if (this.closed) return;
    if (cb === null) this.sock.stopPoll();
    else {
      this.sock.startPoll((status) => {
        if (status < 0) this.pollError = `readiness failed (libuv status ${status}): interface gone or socket error`;
        cb();
      });
    }
  }

  abstract pollStats(): void;

  async close(): Promise<void> {
    if (this.closed) return;
    this.pollStats();
    this.closed = true;
    this.sock.close();
  }
}

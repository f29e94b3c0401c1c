/**
 * A recording tap on any port: every frame the inner port receives is written
 * to `rxFile`, every alive frame it is asked to transmit to `txFile` (before it
 * is sent), as pcap. Same Port interface, so it drops in anywhere.
 */
import { PcapWriter } from '../capture/pcap-writer.js';
import type { PacketBatch } from '../batch/packet-batch.js';
import type { Port } from './port.js';

export interface RecordingTapOptions { rxFile?: string; txFile?: string; nanos?: boolean }

export class RecordingTap implements Port {
  private readonly rx: PcapWriter | null;
  private readonly tx: PcapWriter | null;

  constructor(readonly inner: Port, opts: RecordingTapOptions) {
    this.rx = opts.rxFile ? new PcapWriter(opts.rxFile, { nanos: opts.nanos ?? true }) : null;
    this.tx = opts.txFile ? new PcapWriter(opts.txFile, { nanos: opts.nanos ?? true }) : null;
  }

  get name(): string { return this.inner.name; }
  get kind(): Port['kind'] { return this.inner.kind; }
  get payload(): Port['payload'] { return this.inner.payload; }
  get index(): number { return this.inner.index; }
  get counters(): Port['counters'] { return this.inner.counters; }

  receive(batch: PacketBatch): number {
    const start = batch.count;
    const n = this.inner.receive(batch);
    const w = this.rx;
    if (w !== null) {
      for (let i = start; i < start + n; i++) w.write(batch.data, batch.offset[i], batch.length[i], batch.wireLength[i], batch.tsSec[i], batch.tsNsec[i]);
    }
    return n;
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    const w = this.tx;
    if (w !== null) {
      for (let i = start; i < start + count; i++) {
        if (batch.drop[i] === 0) w.write(batch.data, batch.offset[i], batch.length[i], batch.wireLength[i], batch.tsSec[i], batch.tsNsec[i]);
      }
    }
    return this.inner.transmit(batch, start, count);
  }

  onReadable(cb: (() => void) | null): void { this.inner.onReadable(cb); }
  pollStats(): void { this.inner.pollStats(); }

  flush(): void { this.rx?.flush(); this.tx?.flush(); }

  async close(): Promise<void> {
    await this.inner.close();
    this.rx?.close();
    this.tx?.close();
  }
}

/**
 * pcap file port: replays a capture in (pcap or pcapng, via openCapture) and/or
 * records what it is given out (PcapWriter). Replay is "always readable" until
 * the end of the file: onReadable fires on each event-loop turn while frames
 * remain, so a daemon drains it like a live port without blocking the loop.
 */
import { openCapture } from '../capture/open.js';
import { PcapWriter } from '../capture/pcap-writer.js';
import type { CaptureReader } from '../capture/record.js';
import type { PacketBatch } from '../batch/packet-batch.js';
import { PortCounters, PortDrop } from './counters.js';
import { countReceived, countSent, type Port } from './port.js';

export interface PcapFilePortOptions {
  name: string;
  index?: number;
  /** Capture to replay in (receive). */
  readFile?: string;
  /** Capture to write (transmit). */
  writeFile?: string;
  /** Nanosecond timestamps in the written file. */
  nanos?: boolean;
  /** Start again at the end of readFile, this many extra times (default 0). */
  loops?: number;
}

export class PcapFilePort implements Port {
  readonly kind = 'pcap' as const;
  readonly payload = 'ethernet' as const;
  readonly name: string;
  readonly index: number;
  readonly counters = new PortCounters();
  private reader: CaptureReader | null = null;
  private writer: PcapWriter | null = null;
  private loopsLeft: number;
  private ended: boolean;
  private cb: (() => void) | null = null;
  private scheduled = false;
  private lastOversize = 0;

  constructor(private readonly opts: PcapFilePortOptions) {
    if (!opts.readFile && !opts.writeFile) throw new Error(`pcap port '${opts.name}': needs readFile and/or writeFile`);
    this.name = opts.name;
    this.index = opts.index ?? 0;
    this.loopsLeft = opts.loops ?? 0;
    if (opts.readFile) this.reader = openCapture(opts.readFile);
    if (opts.writeFile) this.writer = new PcapWriter(opts.writeFile, { nanos: opts.nanos });
    this.ended = this.reader === null;
  }

  /** True once the replay file is exhausted (or there is none). */
  get atEnd(): boolean { return this.ended; }

  receive(batch: PacketBatch): number {
    const r = this.reader;
    if (r === null || this.ended) return 0;
    const start = batch.count;
    let n = r.readBatch(batch, this.index);
    if (n === 0 && batch.count < batch.capacity) {
      this.pollStats();
      if (this.loopsLeft > 0) {
        this.loopsLeft--;
        r.close();
        this.reader = openCapture(this.opts.readFile!);
        this.lastOversize = 0;
        n = this.reader.readBatch(batch, this.index);
      } else {
        this.ended = true;
      }
    }
    return countReceived(this.counters, batch, start, n);
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    const w = this.writer;
    let n = 0;
    let bytes = 0;
    for (let i = start; i < start + count; i++) {
      if (batch.drop[i] !== 0) continue;
      if (w === null) { this.counters.drops[PortDrop['tx-error']]++; continue; }
      w.write(batch.data, batch.offset[i], batch.length[i], batch.wireLength[i], batch.tsSec[i], batch.tsNsec[i]);
      n++;
      bytes += batch.length[i];
    }
    return countSent(this.counters, n, bytes);
  }

  private readonly fire = (): void => {
    this.scheduled = false;
    if (this.cb === null || this.ended) return;
    this.cb();
    this.schedule(); // still readable: come back next turn (lets timers and I/O run in between)
  };

  private schedule(): void {
    if (this.scheduled || this.cb === null || this.ended) return;
    this.scheduled = true;
    setImmediate(this.fire);
  }

  onReadable(cb: (() => void) | null): void {
    this.cb = cb;
    this.schedule();
  }

  pollStats(): void {
    const r = this.reader;
    if (r === null) return;
    this.counters.drops[PortDrop.oversize] += r.oversize - this.lastOversize;
    this.lastOversize = r.oversize;
  }

  /** Write buffered records to disk now (the writer buffers 1 MiB). */
  flush(): void { this.writer?.flush(); }

  async close(): Promise<void> {
    this.cb = null;
    this.pollStats();
    this.reader?.close();
    this.reader = null;
    this.ended = true;
    this.writer?.close();
    this.writer = null;
  }
}

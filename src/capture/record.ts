/**
 * The shared shape of the pcap and pcapng readers: one reused CaptureRecord,
 * `next()` per record, `readBatch()` to fill a PacketBatch, sticky errors.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { CaptureFormatError } from './errors.js';
import type { ChunkSource } from './chunk-source.js';

/** Hard cap on one record's captured bytes, whatever the snap length says. */
export const MAX_CAPLEN = 256 * 1024;

/** One record; the reader reuses this object and `data` is valid until the next call. */
export class CaptureRecord {
  /** Buffer holding the packet bytes (the reader's chunk buffer). */
  data: Uint8Array = new Uint8Array(0);
  /** Start of the packet bytes in `data`. */
  offset = 0;
  /** Bytes captured. */
  caplen = 0;
  /** Length on the wire (>= caplen). */
  len = 0;
  tsSec = 0;
  tsNsec = 0;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId = 0;
  /** File offset of the record header / block. */
  fileOffset = 0;
}

export interface OpenCaptureOptions {
  /** Read buffer size in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Accept any link type instead of only Ethernet (1). */
  allowAnyLinkType?: boolean;
}

export abstract class CaptureReader {
  abstract readonly format: 'pcap' | 'pcapng';
  /** Link type of the first interface. */
  abstract readonly linkType: number;
  /** Timestamps in the file have nanosecond resolution (classic pcap magic a1b23c4d). */
  abstract readonly nanos: boolean;
  /** Records skipped by readBatch because they were larger than a batch slot. */
  oversize = 0;
  /** Records returned so far. */
  records = 0;
  /** True once the clean end of the file was reached (readBatch's 0 is ambiguous when the batch was full). */
  ended = false;

  protected readonly rec = new CaptureRecord();
  protected failed: CaptureFormatError | null = null;

  constructor(protected readonly src: ChunkSource) {}

  /** The next record, or null at a clean end of file; throws CaptureFormatError on a fault. */
  next(): CaptureRecord | null {
    if (this.failed !== null) throw this.failed;
    try {
      const r = this.read();
      if (r !== null) this.records++;
      else this.ended = true;
      return r;
    } catch (e) {
      if (e instanceof CaptureFormatError) this.failed = e;
      throw e;
    }
  }

  /**
   * Append up to the batch's free slots; returns how many were appended (0 at end
   * of file, or when the batch was already full: see `ended`). Frames larger than
   * a slot are counted in `oversize` and skipped.
   * A fault after some frames were appended is thrown by the following call.
   */
  readBatch(batch: PacketBatch, inPort = 0): number {
    if (this.failed !== null) throw this.failed;
    const room = batch.dataRoom;
    let n = 0;
    try {
      while (batch.count < batch.capacity) {
        const r = this.read();
        if (r === null) {
          this.ended = true;
          break;
        }
        this.records++;
        if (r.caplen > room) {
          this.oversize++;
          continue;
        }
        batch.append(r.data, r.offset, r.caplen, r.len, r.tsSec, r.tsNsec, inPort);
        n++;
      }
    } catch (e) {
      if (!(e instanceof CaptureFormatError)) throw e;
      this.failed = e;
      if (n === 0) throw e;
    }
    return n;
  }

  close(): void {
    this.src.close();
  }

  /** Format-specific: fill `this.rec` and return it, or null at end of file. */
  protected abstract read(): CaptureRecord | null;

  /** Error for a record/block that runs past the end of the file. */
  protected truncated(at: number, what: string, need: number): CaptureFormatError {
    const have = this.src.presentFrom(at);
    return new CaptureFormatError(
      at,
      `unexpected end of file in ${what}: needs ${need} bytes, ${have} present (${need - have} missing)`,
    );
  }
}

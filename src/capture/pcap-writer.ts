/**
 * Classic pcap writer: little-endian, microsecond or nanosecond magic.
 * Records are packed into one reused buffer and written with fs.writeSync
 * in large chunks; no allocation per record.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { PacketBatch } from '../batch/packet-batch.js';
import { LINKTYPE_ETHERNET } from './errors.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-reader.js';

/**
 * A pipe we write to may be non-blocking (O_NONBLOCK belongs to the open file
 * description, which the process at the other end of a shared pipe may have
 * set): a full pipe then answers EAGAIN instead of blocking. Waiting 1 ms and
 * retrying is the synchronous writer's poll().
 */
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd: number, buf: Uint8Array, len: number): void {
  let done = 0;
  while (done < len) {
    try {
      done += writeSync(fd, buf, done, len - done);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic a1b23c4d); default microseconds. */
  nanos?: boolean;
  /** Snap length written in the header; longer frames are cut to it (default 262144). */
  snaplen?: number;
  /** Link type (default 1, Ethernet). */
  linkType?: number;
  /** Output buffer size (default 1 MiB). */
  bufferSize?: number;
  /** Write to this open descriptor (e.g. 1, stdout) instead of opening `path`; close() leaves it open. */
  fd?: number;
  /** Create `path`, failing if it exists (O_EXCL): for temporary files that must be ours. */
  exclusive?: boolean;
}

export class PcapWriter {
  readonly nanos: boolean;
  readonly snaplen: number;
  /** Records written so far. */
  records = 0;
  private fd: number;
  private readonly ownFd: boolean;
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;

  constructor(readonly path: string, opts: PcapWriterOptions = {}) {
    this.nanos = opts.nanos === true;
    this.snaplen = opts.snaplen ?? 262144;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff) {
      throw new RangeError(`snaplen must be 1..2^31-1, got ${this.snaplen}`);
    }
    // Room for at least one whole record, so write() never needs a second buffer.
    const size = Math.max(opts.bufferSize ?? 1 << 20, Math.min(this.snaplen, 1 << 24) + 16, 4096);
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.ownFd = opts.fd === undefined;
    this.fd = opts.fd ?? openSync(path, opts.exclusive ? 'wx' : 'w');
    const v = this.view;
    v.setUint32(0, this.nanos ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, opts.linkType ?? LINKTYPE_ETHERNET, true);
    this.used = 24;
  }

  /** Append one record: `len` bytes of `data` from `off`, `wireLen` on the wire. */
  write(data: Uint8Array, off: number, len: number, wireLen: number, tsSec: number, tsNsec: number): void {
    if (this.fd < 0) throw new Error(`pcap writer for ${this.path} is closed`);
    const caplen = len > this.snaplen ? this.snaplen : len;
    if (this.used + 16 + caplen > this.buf.length) this.flush();
    const v = this.view;
    const p = this.used;
    v.setUint32(p, tsSec, true);
    v.setUint32(p + 4, this.nanos ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(p + 8, caplen, true);
    v.setUint32(p + 12, wireLen > caplen ? wireLen : caplen, true);
    this.buf.set(data.subarray(off, off + caplen), p + 16);
    this.used = p + 16 + caplen;
    this.records++;
  }

  /** Write every packet of the batch whose drop code is 0. */
  writeBatch(batch: PacketBatch): number {
    let n = 0;
    for (let i = 0; i < batch.count; i++) {
      if (batch.drop[i] !== 0) continue;
      this.write(batch.data, batch.offset[i], batch.length[i], batch.wireLength[i], batch.tsSec[i], batch.tsNsec[i]);
      n++;
    }
    return n;
  }

  flush(): void {
    writeAll(this.fd, this.buf, this.used);
    this.used = 0;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } finally {
      if (this.ownFd) closeSync(this.fd);
      this.fd = -1;
    }
  }
}

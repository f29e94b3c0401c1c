/**
 * ChunkSource: a file read through one reused buffer with fs.readSync.
 *
 * The readers look at `buf[pos..end)`; `base` is the file offset of `buf[0]`.
 * `ensure(n)` makes n bytes available from `pos` (moving the unread tail to the
 * front and reading more), growing the buffer only when one record needs it and
 * never past `maxChunk`. The whole file is never held in memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export const DEFAULT_CHUNK = 1 << 20;
/** The path that means standard input (fd 0, read as a stream; never closed here). */
export const STDIN_PATH = '-';
const pause = new Int32Array(new SharedArrayBuffer(4));

export class ChunkSource {
  buf: Uint8Array;
  view: DataView;
  /** Next unread byte in `buf`. */
  pos = 0;
  /** End of valid bytes in `buf`. */
  end = 0;
  /** File offset of `buf[0]`. */
  base = 0;
  /** File size, or -1 for pipes and other unseekable inputs. */
  readonly size: number;
  /** Regular file: reads are positional and big skips seek. Pipes are read in order. */
  readonly seekable: boolean;
  /** File offset where a read returned end of file (-1 until then). */
  eofAt = -1;
  private fd: number;
  private readonly ownFd: boolean;
  private readonly maxChunk: number;

  constructor(path: string, chunkSize = DEFAULT_CHUNK, maxChunk = 1 << 24) {
    // Bounded both ways: a silly chunkSize must not allocate gigabytes or loop on bytes.
    if (!Number.isInteger(chunkSize) || chunkSize < 4096) chunkSize = 4096;
    if (chunkSize > maxChunk) chunkSize = maxChunk;
    this.maxChunk = maxChunk;
    // Stdin by descriptor: opening /dev/stdin fails (ENXIO) when it is a socket, as under spawn().
    this.ownFd = path !== STDIN_PATH;
    this.fd = this.ownFd ? openSync(path, 'r') : 0;
    try {
      const st = fstatSync(this.fd);
      if (st.isDirectory()) throw new Error(`${path} is a directory, not a capture file`);
      this.seekable = st.isFile();
      this.size = this.seekable ? st.size : -1;
    } catch (e) {
      if (this.ownFd) closeSync(this.fd);
      throw e;
    }
    // Never allocate more than the file needs: small fixtures get a small buffer.
    const n = this.seekable ? Math.max(4096, Math.min(chunkSize, this.size + 64)) : chunkSize;
    this.buf = new Uint8Array(n);
    this.view = new DataView(this.buf.buffer);
  }

  /** File offset of `buf[pos]`. */
  get fileOffset(): number {
    return this.base + this.pos;
  }

  /** Bytes present in the input from file offset `at` (for end-of-file messages). */
  presentFrom(at: number): number {
    const end = this.seekable ? this.size : this.eofAt >= 0 ? this.eofAt : this.base + this.end;
    return Math.max(0, end - at);
  }

  /**
   * Make `n` bytes available at `buf[pos..]`; false when the file ends first.
   * May move and reallocate `buf`: callers re-read `buf`/`view`/`pos` afterwards.
   */
  ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (n > this.maxChunk) return false;
    const have = this.end - this.pos;
    if (n > this.buf.length) {
      // Grow for one big record (bounded by maxChunk), never shrinking.
      let size = this.buf.length;
      while (size < n) size *= 2;
      const next = new Uint8Array(Math.min(size, this.maxChunk));
      next.set(this.buf.subarray(this.pos, this.end), 0);
      this.buf = next;
      this.view = new DataView(next.buffer);
    } else if (this.pos !== 0) {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = have;
    while (this.end < n) {
      if (this.fd < 0) return false;
      let got: number;
      try {
        got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.seekable ? this.base + this.end : null);
      } catch (e) {
        // A non-blocking stdin with nothing yet: wait a millisecond and read again.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      if (got <= 0) {
        this.eofAt = this.base + this.end;
        return false;
      }
      this.end += got;
    }
    return true;
  }

  /** Advance `n` bytes, seeking past data that is not buffered (big unknown pcapng blocks). */
  skip(n: number): void {
    const have = this.end - this.pos;
    if (n <= have) {
      this.pos += n;
      return;
    }
    if (this.seekable) {
      this.base += this.pos + n;
      this.pos = 0;
      this.end = 0;
      return;
    }
    // A pipe cannot seek: read and drop, one buffer at a time.
    let left = n;
    while (left > 0 && this.ensure(1)) {
      const take = Math.min(left, this.end - this.pos);
      this.pos += take;
      left -= take;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      if (this.ownFd) closeSync(this.fd);
      this.fd = -1;
    }
  }
}

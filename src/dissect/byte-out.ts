/**
 * ByteOut: dissect output written as bytes into one preallocated buffer, so a
 * frame's line costs no string, no object and no encoding step. The emitters
 * write through the position-passing functions of byte-write.ts on `view`
 * (`view` and `pos` read once per frame); the methods here are the same
 * writers for other callers. When the buffer passes `size` bytes the owner
 * hands `take()` to the writer and a fresh buffer is used (the written one
 * may still be in flight).
 */
import { wDec, wDec9, wHex, wHex16, wIpv4, wIpv6, wLit, wMac, type Lit } from './byte-write.js';

export { lit, type Lit } from './byte-write.js';

export class ByteOut {
  buf: Buffer;
  /** DataView over `buf`, replaced with it. */
  view: DataView;
  pos = 0;
  /** Room past `size` for the line being written (and the writers' over-stores) without checks. */
  private readonly slack: number;

  /** Buffers handed back by the writer (recycle), reused so fresh pages are not faulted in per MiB. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(readonly size = 1 << 20, slack = 64 * 1024) {
    this.slack = slack;
    const ab = new ArrayBuffer(size + slack);
    this.buf = Buffer.from(ab);
    this.view = new DataView(ab);
  }

  /** True when the caller should hand the buffer over (after the current line). */
  get full(): boolean { return this.pos >= this.size; }

  /** The bytes written so far; another buffer takes over (a recycled one when there is one). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    const ab = this.spare.pop() ?? new ArrayBuffer(this.size + this.slack);
    this.buf = Buffer.from(ab);
    this.view = new DataView(ab);
    this.pos = 0;
    return out;
  }

  /**
   * Give back a buffer from take() once its reader is done with it (written
   * out). A fresh 1 MiB buffer per chunk cost more in page faults than the
   * emitters spent writing it.
   */
  recycle(chunk: Buffer): void {
    const ab = chunk.buffer;
    if (ab instanceof ArrayBuffer && ab.byteLength === this.size + this.slack && this.spare.length < 8) this.spare.push(ab);
  }

  lit(k: Lit): void { this.pos = wLit(this.view, this.pos, k); }

  byte(c: number): void { this.buf[this.pos++] = c; }

  /** A string of the slow formatters (UTF-8; room is made if it is long). */
  str(s: string): void {
    if (this.pos + s.length * 3 + 64 > this.buf.length) this.grow(s.length * 3 + 64);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** An integer (|n| < 2^53) in decimal. */
  dec(n: number): void { this.pos = wDec(this.view, this.pos, n); }

  /** Exactly 9 digits (nanoseconds). */
  dec9(n: number): void { this.pos = wDec9(this.view, this.pos, n); }

  /** Lower-case hex without padding (`toString(16)`). */
  hex(n: number): void { this.pos = wHex(this.view, this.pos, n); }

  /** `0x0800` (hex16 of packet/ethernet.ts). */
  hex16(v: number): void { this.pos = wHex16(this.view, this.pos, v); }

  /** `aa:bb:cc:dd:ee:ff` from 6 bytes at `o`. */
  mac(src: Uint8Array, o: number): void { this.pos = wMac(this.view, this.pos, src, o); }

  /** Dotted quad from 4 bytes at `o`. */
  ipv4(src: Uint8Array, o: number): void { this.pos = wIpv4(this.view, this.pos, src, o); }

  /** RFC 5952 text of the 16 bytes at `o`, as formatIpv6At (packet/ipv6.ts) writes it. */
  ipv6(src: Uint8Array, o: number): void { this.pos = wIpv6(this.view, this.pos, src, o); }

  private grow(extra: number): void {
    const nb = Buffer.allocUnsafe(this.buf.length + extra + this.slack);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
    this.view = new DataView(nb.buffer, nb.byteOffset, nb.length);
  }
}

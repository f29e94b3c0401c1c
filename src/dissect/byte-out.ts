/**
 * ByteOut: dissect output written as bytes into one preallocated buffer, so a
 * frame's line costs no string, no object and no encoding step. Literals are
 * encoded once (`lit`), numbers and addresses are written digit by digit.
 * When the buffer passes `high` bytes the owner hands `take()` to the writer
 * and a fresh buffer is used (the written one may still be in flight).
 */

const HEX = new Uint8Array(16);
for (let i = 0; i < 16; i++) HEX[i] = i < 10 ? 48 + i : 87 + i; // 0-9 a-f

/** A literal, encoded once at module load (ASCII only). */
export function lit(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0x7f;
  return b;
}

export class ByteOut {
  buf: Buffer;
  pos = 0;
  /** Longest single write of a string or frame line we guarantee room for without checks. */
  private readonly slack: number;

  constructor(readonly size = 1 << 20, slack = 64 * 1024) {
    this.slack = slack;
    this.buf = Buffer.allocUnsafe(size + slack);
  }

  /** True when the caller should hand the buffer over (after the current line). */
  get full(): boolean { return this.pos >= this.size; }

  /** The bytes written so far; a new buffer takes over. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size + this.slack);
    this.pos = 0;
    return out;
  }

  lit(k: Uint8Array): void {
    const n = k.length;
    if (n > 12) { this.buf.set(k, this.pos); this.pos += n; return; }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = k[i];
    this.pos = p;
  }

  byte(c: number): void { this.buf[this.pos++] = c; }

  /** A string of the slow formatters (UTF-8; room is made if it is long). */
  str(s: string): void {
    if (this.pos + s.length * 3 > this.buf.length) this.grow(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** An integer (|n| < 2^53) in decimal. */
  dec(n: number): void {
    const b = this.buf;
    let p = this.pos;
    if (n < 0) { b[p++] = 45; n = -n; }
    if (n < 100) {
      if (n >= 10) { const q = (n * 205) >>> 11; b[p++] = 48 + q; n -= q * 10; } // n*205>>11 = n/10 for n < 1029
      b[p++] = 48 + n;
      this.pos = p;
      return;
    }
    if (n < 1000) {
      const h = (n * 41) >>> 12; // n/100 for n < 1000
      n -= h * 100;
      const q = (n * 205) >>> 11;
      b[p] = 48 + h; b[p + 1] = 48 + q; b[p + 2] = 48 + n - q * 10;
      this.pos = p + 3;
      return;
    }
    let digits = 4;
    for (let x = n; x >= 10000; x = Math.floor(x / 10)) digits++;
    p += digits;
    this.pos = p;
    if (n < 0x80000000) {
      while (n >= 10) { const q = (n / 10) | 0; b[--p] = 48 + (n - q * 10); n = q; }
    } else {
      while (n >= 10) { const q = Math.floor(n / 10); b[--p] = 48 + (n - q * 10); n = q; }
    }
    b[--p] = 48 + n;
  }

  /** Exactly 9 digits (nanoseconds). */
  dec9(n: number): void {
    const b = this.buf;
    let p = this.pos + 9;
    this.pos = p;
    for (let i = 0; i < 9; i++) { const q = (n / 10) | 0; b[--p] = 48 + (n - q * 10); n = q; }
  }

  /** Lower-case hex without padding (`toString(16)`). */
  hex(n: number): void {
    const b = this.buf;
    let digits = 1;
    for (let x = n >>> 4; x !== 0; x >>>= 4) digits++;
    let p = this.pos + digits;
    this.pos = p;
    for (let i = 0; i < digits; i++) { b[--p] = HEX[n & 15]; n >>>= 4; }
  }

  /** Two hex digits of a byte. */
  hex2(v: number): void {
    const b = this.buf;
    b[this.pos++] = HEX[(v >>> 4) & 15];
    b[this.pos++] = HEX[v & 15];
  }

  /** `0x0800` (hex16 of packet/ethernet.ts). */
  hex16(v: number): void {
    this.buf[this.pos++] = 48;
    this.buf[this.pos++] = 120;
    this.hex2((v >>> 8) & 0xff);
    this.hex2(v & 0xff);
  }

  /** `aa:bb:cc:dd:ee:ff` from 6 bytes at `o`. */
  mac(src: Uint8Array, o: number): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < 6; i++) {
      const v = src[o + i];
      if (i) b[p++] = 58;
      b[p++] = HEX[v >>> 4];
      b[p++] = HEX[v & 15];
    }
    this.pos = p;
  }

  /** Dotted quad from 4 bytes at `o`. */
  ipv4(src: Uint8Array, o: number): void {
    for (let i = 0; i < 4; i++) {
      if (i) this.buf[this.pos++] = 46;
      this.dec(src[o + i]);
    }
  }

  /** RFC 5952 text of the 16 bytes at `o`, as formatIpv6At (packet/ipv6.ts) writes it. */
  ipv6(src: Uint8Array, o: number): void {
    // Longest run (>= 2) of zero words becomes "::" (first one on ties).
    let best = -1, bestLen = 1;
    for (let i = 0; i < 8;) {
      if (src[o + 2 * i] !== 0 || src[o + 2 * i + 1] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && src[o + 2 * j] === 0 && src[o + 2 * j + 1] === 0) j++;
      if (j - i > bestLen) { best = i; bestLen = j - i; }
      i = j;
    }
    if (best === 0 && bestLen === 5 && src[o + 10] === 0xff && src[o + 11] === 0xff) {
      this.byte(58); this.byte(58); this.byte(102); this.byte(102); this.byte(102); this.byte(102); this.byte(58);
      this.ipv4(src, o + 12);
      return;
    }
    for (let i = 0; i < 8; i++) {
      if (i === best) { this.byte(58); this.byte(58); i += bestLen - 1; continue; }
      if (i !== 0 && i !== best + bestLen) this.byte(58);
      this.hex((src[o + 2 * i] << 8) | src[o + 2 * i + 1]);
    }
  }

  private grow(extra: number): void {
    const nb = Buffer.allocUnsafe(this.buf.length + extra + this.slack);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
}

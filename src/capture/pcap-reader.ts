/**
 * Classic pcap (libpcap 2.4) reader.
 *
 *   global header (24 B): magic u32 | major u16 | minor u16 | thiszone i32 |
 *                         sigfigs u32 | snaplen u32 | network u32
 *   record header (16 B): ts_sec u32 | ts_usec/nsec u32 | incl_len u32 | orig_len u32
 *
 * Magic a1b2c3d4 = microseconds, a1b23c4d = nanoseconds; written in the
 * writer's byte order, so the byte-swapped magic means the other endianness.
 */
import type { ChunkSource } from './chunk-source.js';
import { CaptureFormatError, LINKTYPE_ETHERNET, unsupportedLinkType } from './errors.js';
import { CaptureReader, MAX_CAPLEN, type CaptureRecord } from './record.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

export class PcapReader extends CaptureReader {
  readonly format = 'pcap' as const;
  readonly linkType: number;
  readonly nanos: boolean;
  readonly littleEndian: boolean;
  readonly snaplen: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** Largest caplen accepted: the snap length, bounded by MAX_CAPLEN. */
  private readonly maxCaplen: number;
  /** 1000 for microsecond files, 1 for nanosecond files. */
  private readonly fracScale: number;
  private readonly fracLimit: number;

  constructor(src: ChunkSource, allowAnyLinkType: boolean) {
    super(src);
    if (!src.ensure(PCAP_GLOBAL_HEADER)) {
      throw new CaptureFormatError(
        0,
        `short pcap global header: file has ${src.presentFrom(0)} bytes, the header needs ${PCAP_GLOBAL_HEADER}`,
      );
    }
    const v = src.view;
    const le = v.getUint32(0, true);
    const be = v.getUint32(0, false);
    if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) this.littleEndian = true;
    else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) this.littleEndian = false;
    else if (le === PCAP_MAGIC_MODIFIED || be === PCAP_MAGIC_MODIFIED) {
      throw new CaptureFormatError(0, 'modified (Kuznetzov) pcap format is not supported');
    } else {
      const bytes = be.toString(16).padStart(8, '0').replace(/(..)(?!$)/g, '$1 ');
      throw new CaptureFormatError(0, `bad magic: file starts with bytes ${bytes}, not a pcap (a1b2c3d4, a1b23c4d) or pcapng file`);
    }
    const l = this.littleEndian;
    this.nanos = v.getUint32(0, l) === PCAP_MAGIC_NS;
    this.versionMajor = v.getUint16(4, l);
    this.versionMinor = v.getUint16(6, l);
    if (this.versionMajor !== 2 || this.versionMinor !== 4) {
      throw new CaptureFormatError(
        4,
        `unsupported pcap version ${this.versionMajor}.${this.versionMinor} (vtepd reads 2.4)`,
      );
    }
    this.snaplen = v.getUint32(16, l);
    // Upper bits of `network` carry FCS information; the link type is the low 16 bits.
    this.linkType = v.getUint32(20, l) & 0xffff;
    if (this.linkType !== LINKTYPE_ETHERNET && !allowAnyLinkType) throw unsupportedLinkType(20, this.linkType);
    this.maxCaplen = this.snaplen === 0 || this.snaplen > MAX_CAPLEN ? MAX_CAPLEN : this.snaplen;
    this.fracScale = this.nanos ? 1 : 1000;
    this.fracLimit = this.nanos ? 1e9 : 1e6;
    src.pos = PCAP_GLOBAL_HEADER;
  }

  protected read(): CaptureRecord | null {
    const src = this.src;
    if (src.end - src.pos < PCAP_RECORD_HEADER && !src.ensure(PCAP_RECORD_HEADER)) {
      if (src.end === src.pos) return null; // clean end of file
      throw this.truncated(src.fileOffset, 'record header', PCAP_RECORD_HEADER);
    }
    let p = src.pos;
    let v = src.view;
    const l = this.littleEndian;
    const caplen = v.getUint32(p + 8, l);
    const len = v.getUint32(p + 12, l);
    if (caplen > this.maxCaplen || caplen > len) this.badHeader(caplen, len);
    const need = PCAP_RECORD_HEADER + caplen;
    if (src.end - p < need) {
      if (!src.ensure(need)) throw this.truncated(src.fileOffset, `record of ${caplen} captured bytes`, need);
      p = src.pos;
      v = src.view;
    }
    const r = this.rec;
    let sec = v.getUint32(p, l);
    let frac = v.getUint32(p + 4, l);
    if (frac >= this.fracLimit) {
      // Out-of-range fraction (seen in hand-made files): carry into seconds.
      sec += Math.floor(frac / this.fracLimit);
      frac %= this.fracLimit;
    }
    r.tsSec = sec;
    r.tsNsec = frac * this.fracScale;
    r.fileOffset = src.base + p;
    r.data = src.buf;
    r.offset = p + PCAP_RECORD_HEADER;
    r.caplen = caplen;
    r.len = len;
    src.pos = p + need;
    return r;
  }

  private badHeader(caplen: number, len: number): never {
    const at = this.src.fileOffset;
    if (caplen > MAX_CAPLEN) {
      throw new CaptureFormatError(
        at,
        `garbage record header: claims ${caplen} captured bytes (limit ${MAX_CAPLEN})`,
      );
    }
    if (caplen > this.maxCaplen) {
      throw new CaptureFormatError(at, `record of ${caplen} captured bytes is longer than the snap length ${this.snaplen}`);
    }
    throw new CaptureFormatError(at, `garbage record header: ${caplen} captured bytes but wire length ${len}`);
  }
}

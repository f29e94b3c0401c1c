/**
 * pcapng reader (draft-ietf-opsawg-pcapng): SHB, IDB, EPB, SPB, OPB; other
 * blocks are skipped by their length.
 *
 *   block: type u32 | total length u32 | body ... | total length u32
 *   SHB 0x0a0d0d0a: byte-order magic 0x1a2b3c4d | major u16 | minor u16 | section length i64 | options
 *   IDB 1: link type u16 | reserved u16 | snaplen u32 | options (if_tsresol 9, if_tsoffset 14)
 *   EPB 6: interface u32 | ts high u32 | ts low u32 | caplen u32 | origlen u32 | data (padded) | options
 *   SPB 3: origlen u32 | data (caplen = min(origlen, snaplen of interface 0, room in block))
 *   OPB 2: interface u16 | drops u16 | ts high u32 | ts low u32 | caplen u32 | origlen u32 | data
 *
 * A new SHB starts a new section: byte order and interfaces restart.
 */
import type { ChunkSource } from './chunk-source.js';
import { CaptureFormatError, LINKTYPE_ETHERNET, unsupportedLinkType } from './errors.js';
import { CaptureReader, MAX_CAPLEN, type CaptureRecord } from './record.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 1;
export const BT_OPB = 2;
export const BT_SPB = 3;
export const BT_EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Largest SHB/IDB/packet block held in memory; other blocks are skipped by seeking, never loaded. */
const MAX_LOADED_BLOCK = 1 << 20;

const OPT_TSRESOL = 9;

function blockName(type: number): string {
  if (type === BT_SHB) return 'section header block';
  if (type === BT_IDB) return 'interface description block';
  if (type === BT_EPB) return 'enhanced packet block';
  if (type === BT_SPB) return 'simple packet block';
  if (type === BT_OPB) return 'packet block';
  return `block of type 0x${type.toString(16)}`;
}
const OPT_TSOFFSET = 14;

export class PcapngReader extends CaptureReader {
  readonly format = 'pcapng' as const;
  readonly nanos = false;
  /** Link type of the first interface of the first section (-1 when the file has none). */
  linkType = -1;
  private le = true;
  private readonly allowAny: boolean;
  // Interfaces of the current section, by id.
  private ifLinkType: number[] = [];
  private ifSnaplen: number[] = [];
  /** Timestamp units per second when decimal and <= 1e9 (fast path), else 0. */
  private ifUnits: number[] = [];
  private ifTsresol: number[] = [];
  private ifTsoffset: number[] = [];
  private sections = 0;
  /** File offset of the current section's SHB. */
  private sectionAt = 0;

  constructor(src: ChunkSource, allowAnyLinkType: boolean) {
    super(src);
    this.allowAny = allowAnyLinkType;
    // Read the SHB and any IDBs up to the first packet so `linkType` is known.
    this.step();
    while (this.ifLinkType.length === 0 && src.ensure(8)) {
      const t = src.view.getUint32(src.pos, this.le);
      if (t === BT_EPB || t === BT_SPB || t === BT_OPB) break;
      if (this.step()) break;
    }
  }

  /** Number of interfaces in the current section. */
  get interfaceCount(): number {
    return this.ifLinkType.length;
  }

  /** Link type of interface `id` in the current section. */
  interfaceLinkType(id: number): number {
    return this.ifLinkType[id] ?? -1;
  }

  protected read(): CaptureRecord | null {
    for (;;) {
      const src = this.src;
      // Fast path: a whole, well-formed EPB already in the buffer (nearly every record).
      const p = src.pos;
      if (src.end - p >= 32) {
        const v = src.view;
        const le = this.le;
        const blen = v.getUint32(p + 4, le);
        if (v.getUint32(p, le) === BT_EPB && blen >= 32 && blen <= src.end - p && (blen & 3) === 0 && v.getUint32(p + blen - 4, le) === blen) {
          const ifc = v.getUint32(p + 8, le);
          const caplen = v.getUint32(p + 20, le);
          const len = v.getUint32(p + 24, le);
          if (ifc < this.ifLinkType.length && caplen <= blen - 32 && caplen <= len && caplen <= MAX_CAPLEN) {
            this.fill(src.base + p, ifc, p + 28, caplen, len, v.getUint32(p + 12, le), v.getUint32(p + 16, le));
            src.pos = p + blen;
            return this.rec;
          }
        }
      }
      if (src.end - src.pos < 12 && !src.ensure(12)) {
        if (src.end === src.pos) {
          if (this.ifLinkType.length === 0) throw this.noIdbSection();
          return null;
        }
        throw this.truncated(src.fileOffset, 'block header', 12);
      }
      if (this.step()) return this.rec;
    }
  }

  /** Process one block; true when it was a packet (this.rec filled). */
  private step(): boolean {
    const src = this.src;
    const at = src.fileOffset;
    if (!src.ensure(12)) throw this.truncated(at, 'block header', 12);
    let p = src.pos;
    let v = src.view;
    const type = v.getUint32(p, this.le);
    if (type === BT_SHB) this.sectionStart(at);
    else if (this.sections === 0) throw new CaptureFormatError(at, 'pcapng file does not start with a section header block');
    const le = this.le;
    const blen = v.getUint32(p + 4, le);
    if (blen < 12 || (blen & 3) !== 0) {
      throw new CaptureFormatError(at, `bad block total length ${blen} (must be a multiple of 4 and at least 12)`);
    }
    if (type !== BT_EPB && type !== BT_SPB && type !== BT_OPB && type !== BT_SHB && type !== BT_IDB) {
      return this.skipBlock(at, type, blen);
    }
    if (blen > MAX_LOADED_BLOCK) {
      throw new CaptureFormatError(at, `block total length ${blen} is too large (limit ${MAX_LOADED_BLOCK})`);
    }
    if (src.end - p < blen) {
      if (!src.ensure(blen)) throw this.truncated(at, blockName(type), blen);
      p = src.pos;
      v = src.view;
    }
    const trail = v.getUint32(p + blen - 4, le);
    if (trail !== blen) {
      throw new CaptureFormatError(at, `block total length mismatch: leading ${blen}, trailing ${trail}`);
    }
    let packet = false;
    if (type === BT_EPB) packet = this.epb(at, p, blen);
    else if (type === BT_SPB) packet = this.spb(at, p, blen);
    else if (type === BT_OPB) packet = this.opb(at, p, blen);
    else if (type === BT_IDB) this.idb(at, p, blen);
    else if (type === BT_SHB) this.shb(at, p, blen);
    src.pos = p + blen;
    return packet;
  }

  private epb(at: number, p: number, blen: number): boolean {
    const v = this.src.view;
    const le = this.le;
    if (blen < 32) throw new CaptureFormatError(at, `enhanced packet block too short (${blen} bytes)`);
    const ifc = v.getUint32(p + 8, le);
    const caplen = v.getUint32(p + 20, le);
    const len = v.getUint32(p + 24, le);
    this.checkPacket(at, ifc, caplen, len, blen - 32);
    this.fill(at, ifc, p + 28, caplen, len, v.getUint32(p + 12, le), v.getUint32(p + 16, le));
    return true;
  }

  private opb(at: number, p: number, blen: number): boolean {
    const v = this.src.view;
    const le = this.le;
    if (blen < 32) throw new CaptureFormatError(at, `packet block too short (${blen} bytes)`);
    const ifc = v.getUint16(p + 8, le);
    const caplen = v.getUint32(p + 20, le);
    const len = v.getUint32(p + 24, le);
    this.checkPacket(at, ifc, caplen, len, blen - 32);
    this.fill(at, ifc, p + 28, caplen, len, v.getUint32(p + 12, le), v.getUint32(p + 16, le));
    return true;
  }

  private spb(at: number, p: number, blen: number): boolean {
    if (blen < 16) throw new CaptureFormatError(at, `simple packet block too short (${blen} bytes)`);
    if (this.ifLinkType.length === 0) throw this.noInterface(at);
    const len = this.src.view.getUint32(p + 8, this.le);
    const snap = this.ifSnaplen[0];
    let caplen = len;
    if (snap !== 0 && caplen > snap) caplen = snap;
    if (caplen > blen - 16) caplen = blen - 16;
    if (caplen > MAX_CAPLEN) throw new CaptureFormatError(at, `packet of ${caplen} captured bytes exceeds the limit ${MAX_CAPLEN}`);
    const r = this.rec;
    r.fileOffset = at;
    r.interfaceId = 0;
    r.data = this.src.buf;
    r.offset = p + 12;
    r.caplen = caplen;
    r.len = len;
    r.tsSec = 0;
    r.tsNsec = 0;
    return true;
  }

  private checkPacket(at: number, ifc: number, caplen: number, len: number, room: number): void {
    const n = this.ifLinkType.length;
    if (ifc >= n) {
      if (n === 0) throw this.noInterface(at);
      throw new CaptureFormatError(at, `interface id ${ifc} out of range (${n} interface${n === 1 ? '' : 's'} in this section)`);
    }
    if (caplen > MAX_CAPLEN) throw new CaptureFormatError(at, `garbage packet block: claims ${caplen} captured bytes (limit ${MAX_CAPLEN})`);
    if (caplen > room) throw new CaptureFormatError(at, `packet block's ${caplen} captured bytes run past its end (${room} bytes of room)`);
    if (caplen > len) throw new CaptureFormatError(at, `garbage packet block: ${caplen} captured bytes but wire length ${len}`);
  }

  private noInterface(at: number): CaptureFormatError {
    return new CaptureFormatError(at, 'packet block before any interface description block');
  }

  private fill(at: number, ifc: number, data: number, caplen: number, len: number, hi: number, lo: number): void {
    const r = this.rec;
    r.fileOffset = at;
    r.interfaceId = ifc;
    r.data = this.src.buf;
    r.offset = data;
    r.caplen = caplen;
    r.len = len;
    const div = this.ifUnits[ifc];
    if (hi < 0x200000 && div !== 0) {
      // ticks < 2^53: exact as one double (microsecond stamps until the year 2255).
      const ticks = hi * 4294967296 + lo;
      const sec = Math.floor(ticks / div);
      r.tsSec = sec + this.ifTsoffset[ifc];
      r.tsNsec = (ticks - sec * div) * (1e9 / div);
    } else if (div !== 0) {
      // Larger tick counts (ns stamps): estimate with one rounded division, then
      // take the exact remainder with products split so each stays below 2^53.
      let sec = Math.floor((hi * 4294967296 + lo) / div);
      const sh = Math.floor(sec * (1 / 65536));
      let rem = hi * 4294967296 - sh * div * 65536 + lo - (sec - sh * 65536) * div;
      if (rem < 0 || rem >= div) {
        const k = Math.floor(rem / div);
        sec += k;
        rem -= k * div;
      }
      r.tsSec = sec + this.ifTsoffset[ifc];
      r.tsNsec = rem * (1e9 / div);
    } else {
      this.slowTime(ifc, hi, lo);
    }
  }

  /** Binary or sub-nanosecond resolutions: exact with BigInt (rare files only). */
  private slowTime(ifc: number, hi: number, lo: number): void {
    const res = this.ifTsresol[ifc];
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const units = res & 0x80 ? 1n << BigInt(res & 0x7f) : 10n ** BigInt(res);
    const sec = ticks / units;
    this.rec.tsSec = Number(sec) + this.ifTsoffset[ifc];
    this.rec.tsNsec = Number(((ticks - sec * units) * 1000000000n) / units);
  }

  private noIdbSection(): CaptureFormatError {
    return new CaptureFormatError(this.sectionAt,
      'pcapng section has no Interface Description Block and no packets (libpcap: "the capture file has no Interface Description Blocks")');
  }

  /** Byte order from the SHB's magic; a new section forgets its interfaces. */
  private sectionStart(at: number): void {
    const src = this.src;
    const v = src.view;
    const bom = v.getUint32(src.pos + 8, true);
    if (bom === BYTE_ORDER_MAGIC) this.le = true;
    else if (bom === 0x4d3c2b1a) this.le = false;
    else throw new CaptureFormatError(at, `bad pcapng byte-order magic 0x${v.getUint32(src.pos + 8, false).toString(16).padStart(8, '0')}`);
    // The section that ends here had no interface (and so no packets): as libpcap, an error, not an empty capture.
    if (this.sections > 0 && this.ifLinkType.length === 0) throw this.noIdbSection();
    this.sections++;
    this.sectionAt = at;
    this.ifLinkType = [];
    this.ifSnaplen = [];
    this.ifUnits = [];
    this.ifTsresol = [];
    this.ifTsoffset = [];
  }

  private shb(at: number, p: number, blen: number): void {
    if (blen < 28) throw new CaptureFormatError(at, `section header block too short (${blen} bytes)`);
    const major = this.src.view.getUint16(p + 12, this.le);
    if (major !== 1) throw new CaptureFormatError(at, `unsupported pcapng version ${major}.${this.src.view.getUint16(p + 14, this.le)}`);
  }

  private idb(at: number, p: number, blen: number): void {
    const v = this.src.view;
    const le = this.le;
    if (blen < 20) throw new CaptureFormatError(at, `interface description block too short (${blen} bytes)`);
    const linkType = v.getUint16(p + 8, le);
    if (linkType !== LINKTYPE_ETHERNET && !this.allowAny) throw unsupportedLinkType(at, linkType);
    let tsresol = 6;
    let tsoffset = 0;
    const end = p + blen - 4;
    for (let o = p + 16; o + 4 <= end; ) {
      const code = v.getUint16(o, le);
      const olen = v.getUint16(o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > end) throw new CaptureFormatError(at, `interface option ${code} runs past the block end`);
      if (code === OPT_TSRESOL && olen >= 1) tsresol = v.getUint8(o + 4);
      else if (code === OPT_TSOFFSET && olen >= 8) {
        tsoffset = Number(v.getBigInt64(o + 4, le));
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if (this.linkType === -1) this.linkType = linkType;
    this.ifLinkType.push(linkType);
    this.ifSnaplen.push(v.getUint32(p + 12, le));
    this.ifTsresol.push(tsresol);
    this.ifUnits.push(tsresol & 0x80 || tsresol > 9 ? 0 : 10 ** tsresol);
    this.ifTsoffset.push(tsoffset);
  }

  /** Blocks vtepd does not read: seek past the body (never loaded), then check the trailing length. */
  private skipBlock(at: number, type: number, blen: number): boolean {
    const src = this.src;
    src.skip(blen - 4);
    if (!src.ensure(4)) throw this.truncated(at, blockName(type), blen);
    const trail = src.view.getUint32(src.pos, this.le);
    if (trail !== blen) throw new CaptureFormatError(at, `block total length mismatch: leading ${blen}, trailing ${trail}`);
    src.pos += 4;
    return false;
  }
}

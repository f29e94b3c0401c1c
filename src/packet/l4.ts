/**
 * The first bytes of the transport layers the dissector stops at: just enough
 * to name the flow (ports, ICMP type/code). Payload is not decoded further.
 *
 * TCP (RFC 9293), first 16 bytes:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ICMP / ICMPv6 (RFC 792 / 4443), first 4 bytes:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     Type      |     Code      |          Checksum             |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { TRUNCATED, BAD_HEADER_LENGTH } from './decode-error.js';

export class TcpState {
  sport = 0;
  dport = 0;
  seq = 0;
  ack = 0;
  /** Header length in bytes (data offset * 4). */
  headerLength = 0;
  flags = 0;
  window = 0;
}

export function decodeTcp(b: Uint8Array, off: number, end: number, out: TcpState): number {
  if (off + 20 > end) return TRUNCATED;
  out.sport = (b[off] << 8) | b[off + 1];
  out.dport = (b[off + 2] << 8) | b[off + 3];
  out.seq = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
  out.ack = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
  const hl = (b[off + 12] >>> 4) << 2;
  out.headerLength = hl;
  out.flags = ((b[off + 12] & 1) << 8) | b[off + 13];
  out.window = (b[off + 14] << 8) | b[off + 15];
  if (hl < 20) return BAD_HEADER_LENGTH;
  if (off + hl > end) return TRUNCATED;
  return hl;
}

export class IcmpState {
  type = 0;
  code = 0;
  checksum = 0;
}

/** ICMP and ICMPv6 share the first 4 bytes; returns 4. */
export function decodeIcmp(b: Uint8Array, off: number, end: number, out: IcmpState): number {
  if (off + 4 > end) return TRUNCATED;
  out.type = b[off];
  out.code = b[off + 1];
  out.checksum = (b[off + 2] << 8) | b[off + 3];
  return 4;
}

/**
 * IP address text <-> words, for ports that meet the kernel's string addresses
 * (dgram, raw-socket) and the batch's remoteAddr (4 u32 words, IPv4 in word 0).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Dotted quad to u32 without allocating (returns -1 when malformed). */
export function parseIPv4(s: string): number {
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return v * 256 + part;
}

/** IPv6 text (with ::, optional %zone, optional embedded IPv4) into 4 words at out[o..o+3]. */
export function parseIPv6(s: string, out: Uint32Array, o: number): boolean {
  const pct = s.indexOf('%');
  const t = pct >= 0 ? s.slice(0, pct) : s;
  if (!isIPv6(t)) return false;
  const groups = new Array<number>(8).fill(0);
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) { const v = parseIPv4(g); out.push(v >>> 16, v & 0xffff); } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = parse(head);
  const tl = tail === undefined ? [] : parse(tail);
  for (let i = 0; i < h.length; i++) groups[i] = h[i];
  for (let i = 0; i < tl.length; i++) groups[8 - tl.length + i] = tl[i];
  for (let w = 0; w < 4; w++) out[o + w] = ((groups[2 * w] << 16) | groups[2 * w + 1]) >>> 0;
  return true;
}

export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

export function formatIPv6(words: Uint32Array, o: number): string {
  const g: string[] = [];
  for (let w = 0; w < 4; w++) g.push((words[o + w] >>> 16).toString(16), (words[o + w] & 0xffff).toString(16));
  // Let node canonicalise (:: compression) through the URL parser.
  return new URL(`http://[${g.join(':')}]/`).hostname.slice(1, -1);
}

export function addressFamily(s: string): 4 | 6 | 0 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

/** MAC address text <-> two words (control path and output only). */

export function formatMac(hi: number, lo: number): string {
  const h = (x: number): string => (x & 0xff).toString(16).padStart(2, '0');
  return `${h(hi >>> 8)}:${h(hi)}:${h(lo >>> 24)}:${h(lo >>> 16)}:${h(lo >>> 8)}:${h(lo)}`;
}

/** "aa:bb:cc:dd:ee:ff" (or with '-') -> [hi 16 bits, lo 32 bits as u32]. */
export function parseMacWords(s: string): [number, number] {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) throw new RangeError(`'${s}' is not a MAC address (aa:bb:cc:dd:ee:ff)`);
  const b = m.slice(1).map((x) => parseInt(x, 16));
  return [(b[0] << 8) | b[1], ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0];
}

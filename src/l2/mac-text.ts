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

/**
 * Why `mac` cannot be a static FDB entry (a destination is one station), or
 * null when it is unicast and not all-zero (the all-zero MAC is the kernel's
 * flood-list key, and no station uses it).
 */
export function unicastMacProblem(mac: string): string | null {
  const [hi, lo] = parseMacWords(mac);
  const m = mac.toLowerCase();
  if (hi === 0xffff && lo === 0xffffffff) return `${m} is a broadcast address; a static entry needs a unicast MAC`;
  if ((hi & 0x100) !== 0) return `${m} is a multicast address; a static entry needs a unicast MAC`;
  if (hi === 0 && lo === 0) return `${m} is an all-zero address; a static entry needs a unicast MAC`;
  return null;
}

/** RFC 1071 / RFC 1624 checksum helpers: published vector and random agreement. */
import t from 'tap';
import { sum16, fold16, internetChecksum, checksumVerifies, checksumUpdate16, checksumUpdate32 } from '../../src/packet/checksum.js';
import { ipv4FillChecksum, ipv4ChecksumOk, writeIpv4 } from '../../src/packet/ipv4.js';

t.test('RFC 1071 section 3 example', (t) => {
  const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  t.equal(fold16(sum16(b, 0, 8)), 0xddf2);
  t.equal(internetChecksum(b, 0, 8), 0x220d);
  // Odd length: the last byte is padded with zero on the right.
  t.equal(fold16(sum16(b, 0, 7)), fold16(sum16(Uint8Array.from([...b.subarray(0, 7), 0]), 0, 8)));
  t.end();
});

// Small deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('incremental update (RFC 1624) = full recompute, random data', (t) => {
  const r = rng(1624);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const len = 20 + 2 * Math.floor(r() * 40);
    const b = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
    b[10] = b[11] = 0;
    const c = internetChecksum(b, 0, len);
    b[10] = c >>> 8; b[11] = c & 0xff;
    // change one 16-bit word (not the checksum) or one 32-bit field
    if (i & 1) {
      const w = 2 * (6 + Math.floor(r() * ((len - 12) / 2)));
      const old = (b[w] << 8) | b[w + 1];
      const nw = Math.floor(r() * 65536);
      b[w] = nw >>> 8; b[w + 1] = nw & 0xff;
      const inc = checksumUpdate16(c, old, nw);
      b[10] = inc >>> 8; b[11] = inc & 0xff;
    } else {
      const w = 12 + 4 * Math.floor(r() * ((len - 12) / 4 - 1));
      const old = ((b[w] << 24) | (b[w + 1] << 16) | (b[w + 2] << 8) | b[w + 3]) >>> 0;
      const nv = Math.floor(r() * 4294967296);
      b[w] = nv >>> 24; b[w + 1] = (nv >>> 16) & 0xff; b[w + 2] = (nv >>> 8) & 0xff; b[w + 3] = nv & 0xff;
      const inc = checksumUpdate32(c, old, nv);
      b[10] = inc >>> 8; b[11] = inc & 0xff;
    }
    if (!checksumVerifies(b, 0, len)) bad++;
  }
  t.equal(bad, 0, 'every incrementally updated checksum verifies');
  t.end();
});

t.test('IPv4 header: TTL decrement patched incrementally = recomputed', (t) => {
  const b = new Uint8Array(20);
  writeIpv4(b, 0, 0x10, 1500, 0xbeef, 0x4000, 64, 17, 0xc0a80001, 0x0a000002);
  t.ok(ipv4ChecksumOk(b, 0, 20));
  const old = (b[8] << 8) | b[9];
  b[8]--;
  const inc = checksumUpdate16((b[10] << 8) | b[11], old, (b[8] << 8) | b[9]);
  const full = ipv4FillChecksum(b.slice(), 0, 20);
  t.equal(inc, full);
  t.end();
});

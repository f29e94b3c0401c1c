/**
 * Seeded hash of a MAC-table key (two int32 words: domain<<16|macHi, macLo).
 *
 * Each table draws its own random 64-bit seed, so a sender who picks source MACs
 * cannot aim them at one bucket without knowing the seed (hash flooding). Both
 * seed words enter before the non-linear mixing of their own input word, so
 * neither cancels out of the difference between two keys. This is not a MAC
 * (cryptographic) function: the table also bounds every probe sequence, so even
 * a lucky attacker only gets refused inserts, never linear scans.
 *
 * Trade-off (measured on the lookup path): the murmur3 finaliser (2 multiplies,
 * 3 xor-shifts on the critical path of every lookup) is gone. The home slot takes
 * the HIGH bits of the last multiply, which already depend on every input bit; one
 * xor-shift folds them into the low bits the flap damper indexes by. The seeded,
 * non-linear part (both words xored with secret seed words, then multiplied and
 * rotated) is unchanged, so colliding keys still cannot be chosen without the seed;
 * what is lost is avalanche quality a statistician would notice, not secrecy.
 */
import { randomBytes } from 'node:crypto';

/** 32-bit hash of one key under seed (s0, s1), as an int32 (use `>>> 0` for the unsigned value). */
export function macHash(keyHi: number, keyLo: number, s0: number, s1: number): number {
  let a = Math.imul(keyLo ^ s0, 0xcc9e2d51);
  a = Math.imul((a << 15) | (a >>> 17), 0x1b873593);
  let b = Math.imul(keyHi ^ s1, 0x85ebca6b);
  b = (b << 13) | (b >>> 19);
  const h = Math.imul(a ^ b, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Two random int32 seed words from the OS CSPRNG. */
export function randomSeed(): [number, number] {
  const b = randomBytes(8);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

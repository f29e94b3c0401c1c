/**
 * Seeded hash of a MAC-table key (two int32 words: domain<<16|macHi, macLo).
 *
 * Each table draws its own random 64-bit seed, so a sender who picks source MACs
 * cannot aim them at one bucket without knowing the seed (hash flooding). Both
 * seed words enter before the non-linear mixing of their own input word, so
 * neither cancels out of the difference between two keys. This is not a MAC
 * (cryptographic) function: the table also bounds every probe sequence, so even
 * a lucky attacker only gets refused inserts, never linear scans.
 */
import { randomBytes } from 'node:crypto';

/** 32-bit hash (as a non-negative number) of one key under seed (s0, s1). */
export function macHash(keyHi: number, keyLo: number, s0: number, s1: number): number {
  let a = Math.imul(keyLo ^ s0, 0xcc9e2d51);
  a = (a << 15) | (a >>> 17);
  a = Math.imul(a, 0x1b873593);
  let b = Math.imul(keyHi ^ s1, 0x85ebca6b);
  b = (b << 13) | (b >>> 19);
  let h = Math.imul(a ^ b, 0xc2b2ae35) ^ s0;
  // murmur3 finaliser: every input bit reaches every output bit.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two random int32 seed words from the OS CSPRNG. */
export function randomSeed(): [number, number] {
  const b = randomBytes(8);
  return [b.readInt32LE(0), b.readInt32LE(4)];
}

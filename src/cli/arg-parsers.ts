/**
 * Commander argument parsers shared by every command: a bad value becomes
 * commander's own one-line "option '--x <n>' argument 'y' is invalid. ..."
 * (exit 2 with the command's hint, see main.ts), the same wording everywhere.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from './commander.js';

/** A decimal integer in [min, max]. */
export function intArg(min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}.`);
    return n;
  };
}

/** The same, repeatable: the values collect into an array. */
export function intListArg(min: number, max: number): (v: string, prev: number[] | undefined) => number[] {
  const one = intArg(min, max);
  return (v, prev) => [...(prev ?? []), one(v)];
}

export function macArg(v: string): string {
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(v)) throw new InvalidArgumentError('must look like 02:00:00:00:00:01.');
  return v.toLowerCase();
}

export function ipArg(v: string): string {
  if (isIP(v) === 0) throw new InvalidArgumentError('must be an IPv4 or IPv6 address.');
  return v;
}

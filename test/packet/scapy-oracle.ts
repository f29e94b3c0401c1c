/** Load the scapy-built header vectors (skip the test when scapy is missing). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Vector { hex: string; f: Record<string, number> }

export function scapyVectors(): Record<string, Vector> | null {
  const script = fileURLToPath(new URL('./scapy-vectors.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as Record<string, Vector>;
}

export const hexBytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
export const toHex = (b: Uint8Array, off = 0, len = b.length - off): string => Buffer.from(b.buffer, b.byteOffset + off, len).toString('hex');

/**
 * What the eBPF probes (xdp-probe.ts, stack-bypass-probe.ts) ask first, and
 * how they word a refusal for lack of privilege.
 */
import { existsSync } from 'node:fs';
import type { Avail } from './host-probe.js';

/** The built object's path, or why there is none (addon missing, object not built). */
export function builtBpfObject(path: () => string): string | Avail {
  let object: string;
  try {
    object = path();
  } catch (e) {
    return { ok: false, reason: `native addon not available: ${(e as Error).message}` };
  }
  return existsSync(object) ? object : { ok: false, reason: `${object} is not built (npm run build:native needs clang, bpftool, libbpf-dev)` };
}

/** An error message from loading or attaching a program that says it lacked privilege. */
export function lacksPrivilege(message: string): boolean {
  return /EPERM|permitted/i.test(message);
}

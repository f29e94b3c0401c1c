/**
 * iproute2 runner: `ip` and `bridge`, JSON output (`-j`), optionally inside a
 * network namespace (`-n NS`). Failures become IprouteError carrying the exact
 * command line and iproute2's own message, so users see what the kernel refused.
 */
import { execFile } from 'node:child_process';

export type IprouteTool = 'ip' | 'bridge';

export class IprouteError extends Error {
  constructor(readonly command: string, readonly stderr: string, readonly code: number | string | null) {
    super(`\`${command}\` failed: ${oneLine(stderr) || `exit ${code}`}`);
    this.name = 'IprouteError';
  }
}

function oneLine(s: string): string {
  return s.trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
}

export interface IprouteOptions {
  /** Network namespace to run in (`ip -n NS`). */
  netns?: string;
}

/** Run `tool [-n NS] args...`; resolves with stdout, rejects with IprouteError. */
export function iproute(tool: IprouteTool, args: readonly string[], opts: IprouteOptions = {}): Promise<string> {
  const full = opts.netns ? ['-n', opts.netns, ...args] : [...args];
  const command = [tool, ...full].join(' ');
  return new Promise((resolve, reject) => {
    execFile(tool, full, { encoding: 'utf8', timeout: 15000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code ?? null;
        const msg = code === 'ENOENT' ? `${tool} is not installed (package iproute2)` : stderr;
        reject(new IprouteError(command, msg, code));
      } else resolve(stdout);
    });
  });
}

/** Run with `-j` and parse the JSON (empty output = empty list). */
export async function iprouteJson<T = unknown>(tool: IprouteTool, args: readonly string[], opts: IprouteOptions = {}): Promise<T[]> {
  const out = await iproute(tool, ['-j', ...args], opts);
  const text = out.trim();
  if (text === '') return [];
  try {
    return JSON.parse(text) as T[];
  } catch {
    throw new IprouteError([tool, '-j', ...args].join(' '), `unparseable JSON output: ${text.slice(0, 120)}`, null);
  }
}

/** Create a uniquely named network namespace; returns its name. */
export async function createNetns(prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  await iproute('ip', ['netns', 'add', name]);
  return name;
}

/** Delete a namespace; missing namespaces are not an error. */
export async function deleteNetns(name: string): Promise<void> {
  try {
    await iproute('ip', ['netns', 'del', name]);
  } catch (e) {
    if (!(e instanceof IprouteError) || !/No such file|Invalid argument|does not exist/i.test(e.stderr)) throw e;
  }
}

/**
 * Loading a config off the event loop, for reloads of a running daemon.
 *
 * Reading is bounded and never blocks (config-load.ts readConfigFile: a FIFO,
 * a device or a huge file is refused at once, here on the caller's thread),
 * but parsing is not cheap: a valid 4 MiB YAML file takes about 5 s to parse
 * here, and a daemon that parses on its event loop stops forwarding for that
 * long. So text longer than INLINE_BYTES is parsed and validated in a worker
 * thread with a heap limit and a deadline, and only the finished config
 * crosses back; a usual config (a few KiB, a few ms) is parsed in place, since
 * starting a worker costs a quarter of a second. The same file is the worker's
 * entry point (it acts only when started with `workerData.vtepdConfigText`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ConfigError, parseConfigText, readConfigFile, validateConfig } from './config-load.js';
import type { VtepdConfig } from './config-schema.js';

/** Text up to this size is parsed on the caller's thread (about 80 ms of YAML at most). */
export const INLINE_BYTES = 64 * 1024;

type Reply = { ok: true; cfg: VtepdConfig } | { ok: false; issues?: string[]; message: string };

export interface OffThreadOptions {
  /** Give up (and stop the worker) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Heap limit of the worker (a YAML alias bomb or a huge document hits it, not the daemon). Default 512 MB. */
  maxHeapMb?: number;
}

/** The compiled worker script: this module, or when running from the TypeScript sources (tests) its twin in dist/. */
function workerScript(): string | null {
  const p = fileURLToPath(import.meta.url);
  if (p.endsWith('.js')) return p;
  const js = p.replace(/\/src\//, '/dist/src/').replace(/\.ts$/, '.js');
  return existsSync(js) ? js : null;
}

/** loadConfig with the parsing off the caller's event loop: same result, same ConfigErrors. */
export async function loadConfigOffThread(file: string, o: OffThreadOptions = {}): Promise<VtepdConfig> {
  const text = readConfigFile(file);
  const script = workerScript();
  // Small, or not built (unit tests from the sources only): parse here.
  if (text.length <= INLINE_BYTES || script === null) return validateConfig(parseConfigText(text, file), file);
  const timeoutMs = o.timeoutMs ?? 30_000;
  const maxHeapMb = o.maxHeapMb ?? 512;
  return new Promise((resolve, reject) => {
    const w = new Worker(script, { workerData: { vtepdConfigText: text, source: file }, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void w.terminate();
    };
    const timer = setTimeout(() => settle(() => reject(new ConfigError(file, [`not parsed within ${timeoutMs / 1000} s`]))), timeoutMs);
    w.once('message', (r: Reply) => settle(() => {
      if (r.ok) resolve(r.cfg);
      else reject(r.issues !== undefined ? new ConfigError(file, r.issues) : new ConfigError(file, [r.message]));
    }));
    w.once('error', (err: Error & { code?: string }) => settle(() => reject(new ConfigError(file, [
      err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `parsing it needs more than ${maxHeapMb} MB of memory` : `cannot parse: ${err.message}`,
    ]))));
    w.once('exit', (code) => settle(() => reject(new ConfigError(file, [`the config parser stopped (exit ${code})`]))));
  });
}

interface Job { vtepdConfigText: string; source: string }

if (!isMainThread && parentPort !== null && typeof (workerData as Partial<Job> | null)?.vtepdConfigText === 'string') {
  const { vtepdConfigText: text, source } = workerData as Job;
  let reply: Reply;
  try {
    reply = { ok: true, cfg: validateConfig(parseConfigText(text, source), source) };
  } catch (err) {
    reply = err instanceof ConfigError ? { ok: false, issues: err.issues, message: err.message } : { ok: false, message: (err as Error).message };
  }
  parentPort.postMessage(reply);
}

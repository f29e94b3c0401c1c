import { UsageError } from '../config/usage-error.js';

/** Print an error as one line (stack only with VTEPD_DEBUG=1) and set a failing exit code. */
export function reportFatal(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  process.stderr.write(`vtepd: ${e.message}\n`);
  if (process.env.VTEPD_DEBUG && e.stack) process.stderr.write(e.stack + '\n');
  process.exitCode = e instanceof UsageError ? e.exitCode : 1;
}

/** What `vtepd encap` and `vtepd decap` share around runCapture: user errors in, summary out. */
import { UsageError } from '../config/usage-error.js';
import { formatSummary, type CaptureRunResult } from '../tunnel/capture-tool.js';
import { TunnelConfigError } from '../tunnel/tunnel-config.js';

/** Runs `make`; a TunnelConfigError (bad flags, or a config the stage rejects) becomes a one-line UsageError. */
export function asUsageErrors<T>(make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof TunnelConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** Counters as JSON on stdout (--json), else the human summary on stderr. */
export function printCaptureResult(command: string, r: CaptureRunResult, json: boolean | undefined): void {
  if (json) process.stdout.write(JSON.stringify({ command, ...r }) + '\n');
  else process.stderr.write(formatSummary(command, r));
}

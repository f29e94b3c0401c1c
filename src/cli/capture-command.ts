/** What `vtepd encap` and `vtepd decap` share around runCapture: user errors in, summary out. */
import { UsageError } from '../config/usage-error.js';
import { CaptureFormatError } from '../capture/index.js';
import { formatSummary, runCapture, type BatchStage, type CaptureRunResult } from '../tunnel/capture-tool.js';
import { inputPath, isClosedPipe, outputTarget } from './file-args.js';
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

/** Counters as JSON (--json), else the human summary, on stderr when the capture itself goes to stdout. */
export function printCaptureResult(command: string, r: CaptureRunResult, json: boolean | undefined, toStderr = false): void {
  if (json) (toStderr ? process.stderr : process.stdout).write(JSON.stringify({ command, ...r }) + '\n');
  else process.stderr.write(formatSummary(command, r));
}

/**
 * IN through `stage` into OUT with the file rules of file-args.ts: `-` for
 * stdin/stdout, IN never overwritten, OUT replaced only by a complete run.
 */
export function runCaptureCommand(command: string, inArg: string, outArg: string, stage: BatchStage, json: boolean | undefined, headroom?: number): void {
  const inPath = inputPath(inArg);
  const out = outputTarget(inArg, outArg);
  let r: CaptureRunResult;
  try {
    r = runCapture(inPath, out.path ?? '-', stage, { headroom, outFd: out.fd ?? undefined, exclusive: out.path !== null && out.path !== outArg });
    out.commit();
  } catch (e) {
    out.abort();
    if (out.stdout && isClosedPipe(e)) return;
    if (e instanceof CaptureFormatError) throw new UsageError(`${inArg}: ${e.message}`, 1);
    throw e;
  }
  printCaptureResult(command, r, json, out.stdout);
}

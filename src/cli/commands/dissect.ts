/**
 * `vtepd dissect FILE [--json] [--vxlan-port P]... [--geneve-port P]...`
 *
 * Prints every frame of a pcap/pcapng file, one line each (tcpdump-like, or
 * one JSON object with --json). A fault in the capture file ends the run after
 * all good frames: one-line error with the byte offset on stderr, exit 1.
 * Truncated frames inside a good file are reported per frame, never fatal; a
 * long run of identical record errors is folded into one line (dissect/run.ts).
 * Output is written as bytes into 1 MiB buffers (src/dissect/byte-out.ts), each
 * handed to stdout whole, honouring back-pressure, and reused once written; a closed pipe
 * (`| head`) ends the run quietly.
 */
import { summary } from './catalog.js';
import { UsageError } from '../../config/usage-error.js';
import type { Command } from '../commander.js';
import { CaptureFormatError } from '../../capture/index.js';
import { DEFAULT_MAX_TUNNELS } from '../../dissect/walk.js';
import { dissectFileChunks } from '../../dissect/run.js';
import { inputPath } from '../file-args.js';
import { intArg, intListArg } from '../arg-parsers.js';

interface DissectOptions {
  json?: boolean;
  vxlanPort: number[];
  genevePort: number[];
  maxTunnels: number;
}

/** Writes whole buffers to stdout, waits for 'drain', and turns EPIPE into a quiet stop. */
export class Out {
  closed = false;
  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
      else throw e;
    });
  }
  /** `recycle` gets the chunk back once it is written out: at once when the write completed synchronously. */
  async write(chunk: Buffer, recycle?: (c: Buffer) => void): Promise<boolean> {
    if (this.closed) return false;
    let ok: boolean;
    let given = false;
    const give = (): void => { if (!given && recycle) { given = true; recycle(chunk); } };
    try {
      ok = this.stream.write(chunk, give);
      // Nothing queued and nothing in flight: the bytes are in the kernel (files, /dev/null, most pipe writes).
      if (this.stream.writableLength === 0) give();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') { this.closed = true; return false; }
      throw e;
    }
    if (!ok && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => { this.stream.off('drain', done); this.stream.off('error', done); resolve(); };
        this.stream.once('drain', done);
        this.stream.once('error', done);
      });
    }
    return !this.closed;
  }
}

export async function runDissect(file: string, o: DissectOptions): Promise<void> {
  const opts = { json: o.json, vxlanPorts: o.vxlanPort, genevePorts: o.genevePort, maxTunnels: o.maxTunnels };
  const out = new Out(process.stdout);
  let res;
  try {
    // A chunk's buffer is reused only after stdout is done with it (Out.write -> recycle).
    res = await dissectFileChunks(inputPath(file), opts, (chunk, recycle) => out.write(chunk, recycle));
  } catch (e) {
    throw asUserError(file, e);
  }
  if (res.fault !== null) throw asUserError(file, res.fault);
}

function asUserError(file: string, e: unknown): Error {
  if (e instanceof UsageError) return e;
  if (e instanceof CaptureFormatError) return new UsageError(`${file}: ${e.message}`, 1);
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.message === 'string') return new UsageError(`${file}: ${err.message}`, 1);
  return e instanceof Error ? e : new Error(String(e));
}

export function register(program: Command): void {
  program
    .command('dissect')
    .description(summary('dissect'))
    .argument('<file>', 'pcap or pcapng capture (Ethernet link type; - for stdin)')
    .option('-j, --json', 'one JSON object per frame')
    .option('--vxlan-port <port>', 'also decode UDP to this port as VXLAN (repeatable; 4789 always)', intListArg(1, 65535), [])
    .option('--geneve-port <port>', 'also decode UDP to this port as GENEVE (repeatable; 6081 always)', intListArg(1, 65535), [])
    .option('--max-tunnels <n>', 'deepest tunnel nesting decoded', intArg(0, 32), DEFAULT_MAX_TUNNELS)
    .action(async (file: string, o: DissectOptions) => runDissect(file, o));
}

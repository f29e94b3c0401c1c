/**
 * Capture file arguments of the offline commands (dissect, learn, encap, decap),
 * one rule for all of them:
 *
 * - `-` is standard input or standard output, as in tcpdump `-r -` / `-w -`.
 * - A missing or unreadable input exits 1 (bad input), named the same way everywhere.
 * - An output that is the input (same device and inode: the same path, a hard
 *   link or a symlink to it) is refused with exit 2 before anything is opened.
 * - A regular output file is written as a temporary file in the same folder and
 *   renamed over OUT only when the run succeeded: a failed run leaves no partial
 *   output and the old OUT, if any, untouched. Outputs that are not regular files
 *   (/dev/null, a FIFO) are written in place.
 */
import { renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../config/usage-error.js';
import { STDIN_PATH } from '../capture/chunk-source.js';

export const STDIO = '-';

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The path to open for an input argument: `-` is stdin; a missing file or a folder is a bad-input error (exit 1). */
export function inputPath(arg: string): string {
  if (arg === STDIO) return STDIN_PATH;
  let st: Stats | null;
  try {
    st = statOrNull(arg);
  } catch (e) {
    throw new UsageError(`${arg}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}: ${(e as Error).message}`, 1);
  }
  if (st === null) throw new UsageError(`${arg}: no such file or directory`, 1);
  if (st.isDirectory()) throw new UsageError(`${arg}: is a directory, not a capture file`, 1);
  return arg;
}

/** Where a command writes its output capture, and how it ends the write. */
export interface OutputTarget {
  /** Path for the writer, or null when `fd` is given (stdout). */
  path: string | null;
  fd: number | null;
  /** True when the output is stdout: counters then go to stderr. */
  stdout: boolean;
  /** After a successful run: move the temporary file into place. */
  commit(): void;
  /** After a failed run: remove the temporary file (ours), leave OUT as it was. */
  abort(): void;
}

let tmpSeq = 0;

export function outputTarget(inArg: string, outArg: string): OutputTarget {
  const noop = (): void => undefined;
  if (outArg === STDIO) return { path: null, fd: 1, stdout: true, commit: noop, abort: noop };
  const out = statOrNull(outArg);
  if (out !== null && inArg !== STDIO) {
    const inp = statOrNull(inArg);
    if (inp !== null && inp.dev === out.dev && inp.ino === out.ino) {
      throw new UsageError(`${outArg} is the input file ${inArg} (same device and inode): writing it would destroy the input; name another output`);
    }
  }
  if (out !== null && out.isDirectory()) throw new UsageError(`${outArg} is a directory; name an output file`);
  if (out !== null && !out.isFile()) return { path: outArg, fd: null, stdout: false, commit: noop, abort: noop };
  const tmp = join(dirname(outArg), `.${basename(outArg)}.vtepd-${process.pid}-${tmpSeq++}.tmp`);
  return {
    path: tmp,
    fd: null,
    stdout: false,
    commit: () => renameSync(tmp, outArg),
    abort: () => {
      try { unlinkSync(tmp); } catch { /* never created */ }
    },
  };
}

/** A write to a closed pipe (`| head`): the reader has what it wanted, end quietly with status 0. */
export function isClosedPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}

/**
 * The dissect loop shared by `vtepd dissect` and the tests: read every record,
 * walk it, format it, hand the line to a sink. A capture-format fault is
 * returned (not thrown) after all good frames were handed over, so the caller
 * decides how to report it.
 */
import { openCapture, type CaptureReader } from '../capture/index.js';
import { WalkState, walkFrame, type WalkOptions } from './walk.js';
import { walkErrorMessage } from './describe.js';
import { frameJson } from './format-json.js';
import { frameText } from './format-text.js';
import { ByteOut } from './byte-out.js';
import { emitFrameJson } from './emit-json.js';
import { emitFrameText } from './emit-text.js';

export interface DissectRunOptions extends WalkOptions {
  json?: boolean;
}

/** Receives each line; returning false stops the run (e.g. the reader of stdout went away). */
export type LineSink = (line: string) => boolean | Promise<boolean>;

export interface DissectRunResult {
  frames: number;
  /** Records left out of the output as repeats of the record error before them. */
  folded: number;
  /** The fault that ended the run early (CaptureFormatError or I/O error), or null. */
  fault: unknown;
}

/**
 * A record that decodes to nothing but an error (a zero-length record, say) and
 * repeats the one before it is printed FOLD_AFTER times; the rest of the run of
 * repeats becomes one line saying how many were folded. A capture of millions of
 * empty records then prints a few lines, not gigabytes of the same error.
 */
export const FOLD_AFTER = 10;

/** The line that stands for `n` folded records, frames first..last. */
export function foldedLine(json: boolean, n: number, first: number, last: number, error: string): string {
  return json
    ? `{"folded":${n},"frames":[${first},${last}],"error":${JSON.stringify(error)}}`
    : `... ${n} more records with the same error folded (frames ${first}-${last}): ${error}`;
}

export async function dissectFile(path: string, opts: DissectRunOptions, sink: LineSink): Promise<DissectRunResult> {
  const st = new WalkState(opts);
  const reader: CaptureReader = openCapture(path); // header faults throw here
  const json = opts.json === true;
  const fmt = json ? frameJson : frameText;
  let frames = 0;
  let folded = 0;
  let fault: unknown = null;
  // The current run of identical record errors: its error, length, and first folded frame.
  let runError: string | null = null;
  let runLength = 0;
  let foldFirst = 0;
  let lastError = '';
  const endRun = async (): Promise<boolean> => {
    const n = runLength - FOLD_AFTER;
    runError = null;
    runLength = 0;
    if (n <= 0) return true;
    folded += n;
    const go = sink(foldedLine(json, n, foldFirst, foldFirst + n - 1, lastError));
    return go === true || go === false ? go : await go;
  };
  try {
    for (;;) {
      const r = reader.next();
      if (r === null) break;
      frames++;
      walkFrame(r.data, r.offset, r.caplen, st);
      const err = st.count === 0 ? walkErrorMessage(st) : null;
      if (err !== null && err === runError) {
        if (++runLength > FOLD_AFTER) {
          if (runLength === FOLD_AFTER + 1) foldFirst = frames;
          continue;
        }
      } else {
        if (runError !== null && !(await endRun())) break;
        if (err !== null) {
          runError = err;
          lastError = err;
          runLength = 1;
        }
      }
      let go = sink(fmt(r.data, st, frames, r.tsSec, r.tsNsec, r.caplen, r.len));
      if (go !== true && go !== false) go = await go;
      if (!go) { runError = null; break; }
    }
    if (runError !== null) await endRun();
  } catch (e) {
    fault = e;
  } finally {
    reader.close();
  }
  return { frames, folded, fault };
}

/**
 * Receives a full output buffer (about 1 MiB of whole lines); false stops the
 * run. A sink that is done with the chunk (written out) may pass it to
 * `recycle` so its memory is reused for a later chunk.
 */
export type ChunkSink = (chunk: Buffer, recycle: (chunk: Buffer) => void) => boolean | Promise<boolean>;

/**
 * The fast form of dissectFile for the CLI: lines are written as bytes into a
 * preallocated buffer (emit-json.ts / emit-text.ts, the same text), handed
 * over in large chunks. Nothing is allocated per frame.
 */
export async function dissectFileChunks(path: string, opts: DissectRunOptions, sink: ChunkSink): Promise<DissectRunResult> {
  const st = new WalkState(opts);
  const reader: CaptureReader = openCapture(path);
  const json = opts.json === true;
  const emit = json ? emitFrameJson : emitFrameText;
  const out = new ByteOut();
  const recycle = (c: Buffer): void => out.recycle(c);
  let frames = 0;
  let folded = 0;
  let fault: unknown = null;
  let go = true;
  // Runs of identical record errors, folded as in dissectFile.
  let runError: string | null = null;
  let runLength = 0;
  let foldFirst = 0;
  const endRun = (): void => {
    const n = runLength - FOLD_AFTER;
    if (n > 0) {
      folded += n;
      out.str(foldedLine(json, n, foldFirst, foldFirst + n - 1, runError!) + '\n');
    }
    runError = null;
    runLength = 0;
  };
  try {
    for (;;) {
      const r = reader.next();
      if (r === null) break;
      frames++;
      walkFrame(r.data, r.offset, r.caplen, st);
      const err = st.count === 0 ? walkErrorMessage(st) : null;
      if (err !== null && err === runError) {
        if (++runLength > FOLD_AFTER) {
          if (runLength === FOLD_AFTER + 1) foldFirst = frames;
          continue;
        }
      } else {
        if (runError !== null) endRun();
        if (err !== null) {
          runError = err;
          runLength = 1;
        }
      }
      emit(out, r.data, st, frames, r.tsSec, r.tsNsec, r.caplen, r.len);
      if (out.full) {
        let g = sink(out.take(), recycle);
        if (g !== true && g !== false) g = await g;
        if (!g) { go = false; break; }
      }
    }
    if (go && runError !== null) endRun();
  } catch (e) {
    fault = e;
  } finally {
    reader.close();
  }
  if (go && out.pos > 0) await sink(out.take(), recycle);
  return { frames, folded, fault };
}

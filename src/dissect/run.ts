/**
 * The dissect loop shared by `vtepd dissect` and the tests: read every record,
 * walk it, format it, hand the line to a sink. A capture-format fault is
 * returned (not thrown) after all good frames were handed over, so the caller
 * decides how to report it.
 */
import { openCapture, type CaptureReader } from '../capture/index.js';
import { WalkState, walkFrame, type WalkOptions } from './walk.js';
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
  /** The fault that ended the run early (CaptureFormatError or I/O error), or null. */
  fault: unknown;
}

export async function dissectFile(path: string, opts: DissectRunOptions, sink: LineSink): Promise<DissectRunResult> {
  const st = new WalkState(opts);
  const reader: CaptureReader = openCapture(path); // header faults throw here
  const fmt = opts.json === true ? frameJson : frameText;
  let frames = 0;
  let fault: unknown = null;
  try {
    for (;;) {
      const r = reader.next();
      if (r === null) break;
      frames++;
      walkFrame(r.data, r.offset, r.caplen, st);
      let go = sink(fmt(r.data, st, frames, r.tsSec, r.tsNsec, r.caplen, r.len));
      if (go !== true && go !== false) go = await go;
      if (!go) break;
    }
  } catch (e) {
    fault = e;
  } finally {
    reader.close();
  }
  return { frames, fault };
}

/** Receives a full output buffer (about 1 MiB of whole lines); false stops the run. */
export type ChunkSink = (chunk: Buffer) => boolean | Promise<boolean>;

/**
 * The fast form of dissectFile for the CLI: lines are written as bytes into a
 * preallocated buffer (emit-json.ts / emit-text.ts, the same text), handed
 * over in large chunks. Nothing is allocated per frame.
 */
export async function dissectFileChunks(path: string, opts: DissectRunOptions, sink: ChunkSink): Promise<DissectRunResult> {
  const st = new WalkState(opts);
  const reader: CaptureReader = openCapture(path);
  const emit = opts.json === true ? emitFrameJson : emitFrameText;
  const out = new ByteOut();
  let frames = 0;
  let fault: unknown = null;
  let go = true;
  try {
    for (;;) {
      const r = reader.next();
      if (r === null) break;
      frames++;
      walkFrame(r.data, r.offset, r.caplen, st);
      emit(out, r.data, st, frames, r.tsSec, r.tsNsec, r.caplen, r.len);
      if (out.full) {
        let g = sink(out.take());
        if (g !== true && g !== false) g = await g;
        if (!g) { go = false; break; }
      }
    }
  } catch (e) {
    fault = e;
  } finally {
    reader.close();
  }
  if (go && out.pos > 0) await sink(out.take());
  return { frames, fault };
}

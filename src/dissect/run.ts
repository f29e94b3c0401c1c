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

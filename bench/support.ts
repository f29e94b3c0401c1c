/** Helpers shared by the benchmarks (not a benchmark itself: no `.bench` in the name). */
import { openCapture } from '../src/capture/index.js';

/** Read every record of a capture with `next()` and nothing else (default 1 MiB chunk, as `vtepd dissect` reads). */
export function readAllRecords(path: string): { records: number; bytes: number } {
  const r = openCapture(path);
  let records = 0;
  let bytes = 0;
  for (let rec = r.next(); rec !== null; rec = r.next()) {
    bytes += rec.caplen;
    records++;
  }
  r.close();
  return { records, bytes };
}

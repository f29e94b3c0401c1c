/**
 * Writing a cost report folder: cost-report.json (the record, schema
 * vtepd-cost-report/2), .txt (the terminal form), .svg (headline chart),
 * .html (everything in one self-contained page) and cost-report-host-wide.svg
 * (the secondary view's chart). Each file is written to a temporary name and
 * renamed, so a reader never sees half a report and an interrupted run leaves
 * no truncated file behind.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CostReport } from './report.js';
import type { CostReportDoc } from './report-views.js';
import { reportDocText, reportJson, reportSvg } from './report-render.js';
import { reportHtml } from './report-html.js';

/** `vtepd-cost-20261205-083012` under `cwd`: the default --out. */
export function defaultOutDir(now = new Date(), cwd = process.cwd()): string {
  const s = now.toISOString();
  return resolve(cwd, `vtepd-cost-${s.slice(0, 10).replace(/-/g, '')}-${s.slice(11, 19).replace(/:/g, '')}`);
}

export function reportFiles(d: CostReportDoc): Record<string, string> {
  const wide: CostReport = { ...d, schema: 'vtepd-cost-report/1', plans: d.hostWide.plans };
  return {
    'cost-report.json': reportJson(d),
    'cost-report.txt': reportDocText(d),
    'cost-report.svg': reportSvg(d),
    'cost-report.html': reportHtml(d),
    'cost-report-host-wide.svg': reportSvg(wide),
  };
}

/** Write the report into `dir` (created if needed); returns the file names. */
export function writeReportFolder(dir: string, d: CostReportDoc): string[] {
  mkdirSync(dir, { recursive: true });
  const files = reportFiles(d);
  for (const [name, text] of Object.entries(files)) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, text);
      renameSync(tmp, join(dir, name));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }
  return Object.keys(files);
}

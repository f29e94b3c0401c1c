/**
 * `vtepd cost`: run the same offered traffic through each requested offload
 * plan on a namespace topology it builds, and write the cost report (JSON,
 * table, SVG) into --out. See docs/cost-report.md for how to read it.
 */
import { summary } from './catalog.js';
import { UsageError } from '../../config/usage-error.js';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Command } from '../commander.js';
import { checkPlans } from '../../cost/cost-plans.js';
import { closeAllSync, runCost, MAX_FRAME, MIN_FRAME } from '../../cost/cost-run.js';
import { buildReportDoc } from '../../cost/report-views.js';
import { reportDocText, reportJson } from '../../cost/report-render.js';
import { defaultOutDir, writeReportFolder } from '../../cost/report-files.js';

interface CostOpts { plans: string; frameSize: string; duration: string; rate: string; pcap?: string; out?: string; json?: boolean; subtractIdle?: boolean }

interface Bar { start(total: number, v: number, p: object): void; update(v: number, p: object): void; stop(): void }

function progressBar(): Bar | null {
  if (!process.stderr.isTTY) return null;
  const cp = createRequire(import.meta.url)('cli-progress') as { SingleBar: new (o: object, preset: object) => Bar; Presets: { shades_classic: object } };
  return new cp.SingleBar({ stream: process.stderr, format: 'vtepd cost [{bar}] {percentage}% | {label}', hideCursor: true, clearOnComplete: true }, cp.Presets.shades_classic);
}

function parseList(v: string, what: string): number[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  if (out.some((n) => !Number.isInteger(n))) throw new UsageError(`--${what} takes integers separated by commas, got "${v}"`);
  return out;
}

export function register(program: Command): void {
  program.command('cost')
    .description(summary('cost'))
    .option('--plans <list>', 'plans to run in turn: host, native, kernel, xdp, wire (no VTEP: the traffic\'s own cost), nic', 'host,kernel')
    .option('--frame-size <list>', `Ethernet frame sizes in bytes, FCS included (${MIN_FRAME}..${MAX_FRAME})`, '64,1400')
    .option('--duration <s>', 'seconds of traffic per plan and frame size', '5')
    .option('--rate <pps|max>', 'offered frames per second, or max', '50000')
    .option('--pcap <file>', 'replay this capture (in a loop, addresses rewritten) instead of generated frames')
    .option('--subtract-idle', 'subtract the host CPU measured on the idle topology just before each run (background load of a shared host)')
    .option('--out <dir>', 'report folder: cost-report.{html,json,txt,svg} (default: a new folder vtepd-cost-YYYYMMDD-HHMMSS in the current directory)')
    .option('-j, --json', 'print the JSON report (by-process headline + host-wide view) on stdout instead of the tables')
    .action(async (o: CostOpts) => {
      const frameSizes = parseList(o.frameSize, 'frame-size');
      for (const s of frameSizes) if (s < MIN_FRAME || s > MAX_FRAME) throw new UsageError(`frame size ${s} B outside ${MIN_FRAME}..${MAX_FRAME} (FCS included)`);
      const durationSeconds = Number(o.duration);
      if (!(durationSeconds > 0 && durationSeconds <= 3600)) throw new UsageError(`--duration must be > 0 and <= 3600 seconds, got "${o.duration}"`);
      const rate = o.rate === 'max' ? Infinity : Number(o.rate);
      if (!(rate > 0)) throw new UsageError(`--rate takes frames per second (> 0) or "max", got "${o.rate}"`);
      let plans;
      try {
        plans = await checkPlans(o.plans.split(',').map((s) => s.trim()).filter(Boolean));
      } catch (e) {
        throw new UsageError((e as Error).message, 2);
      }
      if (process.getuid?.() !== 0) throw new UsageError('vtepd cost needs root: it creates network namespaces, veths and kernel vxlan devices (try: sudo vtepd cost)', 77);
      const out = o.out !== undefined ? resolve(o.out) : defaultOutDir();

      const onSignal = (sig: NodeJS.Signals) => {
        closeAllSync();
        process.stderr.write(`\nvtepd cost: ${sig}, namespaces removed\n`);
        process.exit(130);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.once('exit', closeAllSync);
      const bar = progressBar();
      bar?.start(1000, 0, { label: 'building topology' });
      let runs;
      try {
        runs = await runCost({
          plans, frameSizes, durationSeconds, rate, pcap: o.pcap, subtractIdle: o.subtractIdle === true,
          onProgress: (share, label) => bar?.update(Math.round(share * 1000), { label }),
        });
      } finally {
        bar?.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      // Headline: CPU attributed by process; secondary: host-wide /proc/stat (docs/cost-report.md).
      const doc = buildReportDoc(runs.attributed, runs.host, { offeredRate: rate === Infinity ? 'max' : rate });
      const files = writeReportFolder(out, doc);
      process.stdout.write(o.json ? reportJson(doc) : reportDocText(doc));
      process.stderr.write(`report written to ${out}/ (${files.join(', ')})\n`);
    });
}

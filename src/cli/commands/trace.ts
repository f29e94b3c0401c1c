/**
 * `vtepd trace`: ask the running daemon to record the next N frames through
 * every stage, then print each frame's path: where it arrived, decap (tunnel
 * kind, VNI, remote), the bridge's decision (unicast to a port or a remote,
 * flood and its targets), each copy's encap (remote, entropy, outer headers)
 * and transmit, and the registry name of any drop. Frames are shown with the
 * dissect formatters; --pcap also writes every traced frame and copy to a file.
 */
import { summary } from './catalog.js';
import { renameSync, rmSync } from 'node:fs';
import { Command, Option } from '../commander.js';
import { controlRequest } from '../../control/control-client.js';
import { DEFAULT_SOCKET } from '../../config/defaults.js';
import { UsageError } from '../../config/usage-error.js';
import { TRACE_DEFAULT_TIMEOUT_MS, TRACE_MAX_FRAMES, TRACE_MAX_TIMEOUT_MS, type TraceResult, type TraceStep } from '../../control/trace.js';
import { WalkState, walkFrame } from '../../dissect/walk.js';
import { layersText } from '../../dissect/format-text.js';
import { PcapWriter } from '../../capture/pcap-writer.js';

const walker = new WalkState();

/** A hex frame from the daemon as dissect's one-line text. */
function describe(hex: string | undefined, len: number | undefined): string {
  if (hex === undefined) return '';
  const b = Uint8Array.from(Buffer.from(hex, 'hex'));
  walkFrame(b, 0, b.length, walker);
  const cut = len !== undefined && len > b.length ? ` (first ${b.length} of ${len} bytes)` : '';
  return layersText(b, walker) + cut;
}

function stepLine(s: TraceStep): string {
  const at: string[] = [];
  if (s.kind !== undefined && s.kind !== 'none') at.push(s.kind);
  if (s.vni !== undefined) at.push(`vni ${s.vni}`);
  if (s.remote !== undefined) at.push(`${s.stage === 'decap' ? 'from' : 'to'} ${s.remote}`);
  if (s.port !== undefined) at.push(`${s.stage === 'tx' ? 'on' : 'to'} ${s.port}`);
  if (s.targets !== undefined) at.push(`to ${s.targets.join(', ') || '(nobody)'}`);
  if (s.entropy !== undefined && s.stage === 'encap') at.push(`entropy ${s.entropy}`);
  if (s.drop !== undefined) at.push(`reason ${s.drop}`);
  let line = `    ${s.stage.padEnd(8)} ${s.verdict}${at.length ? ` ${at.join(', ')}` : ''}`;
  if (s.frame !== undefined && s.stage !== 'tx') line += `\n             ${describe(s.frame, s.len)}`;
  return line;
}

export function formatTrace(r: TraceResult): string {
  const out: string[] = [];
  for (const f of r.frames) {
    out.push(`#${f.seq} ${f.ts} rx ${f.role} ${f.port} ${f.len} B${f.wireLen !== f.len ? ` (of ${f.wireLen})` : ''}`);
    out.push(`             ${describe(f.frame, f.len)}`);
    for (const s of f.steps) out.push(stepLine(s));
  }
  out.push(`${r.traced} of ${r.requested} frames traced${r.timedOut ? ' (timed out waiting for the rest)' : ''}`);
  return out.join('\n');
}

/** Every traced frame as received, and every copy as sent, into one pcap (written to a temp file, renamed on success). */
function writePcap(path: string, r: TraceResult): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const w = new PcapWriter(tmp, { nanos: true });
  try {
    for (const f of r.frames) {
      const [sec, nsec] = f.ts.split('.').map(Number);
      const put = (hex: string, len: number): void => { const b = Buffer.from(hex, 'hex'); w.write(b, 0, b.length, Math.max(len, b.length), sec, nsec); };
      put(f.frame, f.wireLen);
      for (const s of f.steps as TraceStep[]) if (s.frame !== undefined && (s.stage === 'encap' || s.stage === 'tx')) put(s.frame, s.len ?? 0);
    }
    w.close();
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function intArg(v: string, what: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${what} must be an integer ${min}..${max}, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  program.command('trace')
    .description(summary('trace'))
    .addOption(new Option('--socket <path>', 'control socket of the daemon').default(DEFAULT_SOCKET))
    .option('--count <n>', `frames to trace (1..${TRACE_MAX_FRAMES})`, '10')
    .option('--timeout <s>', `seconds to wait for them (1..${TRACE_MAX_TIMEOUT_MS / 1000})`, String(TRACE_DEFAULT_TIMEOUT_MS / 1000))
    .option('--pcap <file>', 'also write each traced frame and every copy sent to a pcap file')
    .option('-j, --json', 'machine-readable (the daemon\'s records as they are)')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: { socket: string; count: string; timeout: string; pcap?: string; json?: boolean; pretty?: boolean }) => {
      const count = intArg(o.count, '--count', 1, TRACE_MAX_FRAMES);
      const timeoutMs = intArg(o.timeout, '--timeout', 1, TRACE_MAX_TIMEOUT_MS / 1000) * 1000;
      const res = await controlRequest(o.socket, 'trace', { count, timeoutMs }, timeoutMs + 5000);
      if (!res.ok) throw new UsageError(res.error?.message ?? 'trace failed', 1);
      const r = res.result as TraceResult;
      if (o.pcap !== undefined) writePcap(o.pcap, r);
      process.stdout.write((o.json ? JSON.stringify(r, null, o.pretty ? 2 : undefined) : formatTrace(r)) + '\n');
    });
}


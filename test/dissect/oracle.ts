/** Helpers shared by the dissect tests: run the CLI, list capture files, external folder. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const cli = join(repo, 'dist/src/cli/main.js');
export const external = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));
export const hasExternal = existsSync(external);
export const fixturesDir = join(repo, 'fixtures');

export interface Layer { proto: string; [k: string]: unknown }
export interface FrameRecord { frame: number; ts: string; caplen: number; len: number; layers: Layer[]; error?: string }

export interface DissectResult { status: number | null; frames: FrameRecord[]; stdout: string; stderr: string }

export function dissect(file: string, args: string[] = []): DissectResult {
  const r = spawnSync(process.execPath, [cli, 'dissect', '--json', ...args, file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const frames = r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FrameRecord);
  return { status: r.status, frames, stdout: r.stdout, stderr: r.stderr };
}

/** Good capture files: the project's fixtures (not bad/) and the external ones that are not corrupt. */
export function goodCaptures(): string[] {
  const list: string[] = [];
  if (existsSync(fixturesDir)) {
    for (const f of readdirSync(fixturesDir).sort()) if (/\.pcap(ng)?$/.test(f)) list.push(join(fixturesDir, f));
  }
  if (hasExternal) {
    for (const d of ['tcpdump', 'zeek', 'packetnet', 'pcap-parser']) {
      const dir = join(external, d);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) {
        // trunc-hdr.pcap: its record is longer than its snap length, a capture-format fault (tested in cli.test.ts).
        if (/\.pcap(ng)?$/.test(f) && f !== 'trunc-hdr.pcap') list.push(join(dir, f));
      }
    }
  }
  return list;
}

export const haveTool = (name: string): boolean => spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * The same loop as `vtepd dissect --json` (src/dissect/run.ts, which the CLI
 * calls), in-process: spawning node per file costs seconds on a loaded host.
 * cli.test.ts checks the CLI's output equals this one byte for byte.
 */
export async function dissectLocal(file: string, opts: { vxlanPorts?: number[]; genevePorts?: number[] } = {}): Promise<DissectResult> {
  const { dissectFile } = await import('../../src/dissect/run.js');
  const lines: string[] = [];
  const r = await dissectFile(file, { json: true, ...opts }, (l) => { lines.push(l); return true; });
  const stdout = lines.map((l) => l + '\n').join('');
  return { status: r.fault === null ? 0 : 1, frames: lines.map((l) => JSON.parse(l) as FrameRecord), stdout, stderr: r.fault === null ? '' : String(r.fault) };
}

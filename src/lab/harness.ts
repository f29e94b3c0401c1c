/**
 * Running vtepd daemons inside the demo topology: one child process per
 * hypervisor namespace (`ip netns exec NS node main.js run`), readiness through
 * the control socket, traffic through netns-tool in the VM namespaces, and a
 * teardown that is safe to call any number of times, from any failure path.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/control-client.js';
import type { StatsSnapshot } from '../control/stats.js';
import { createTopology, daemonConfig, destroyTopology, type DaemonConfigOptions, type Topology, type Vm } from './topology.js';

/** A compiled script beside this module; from the TypeScript sources (tests), the one in dist/. */
function built(rel: string): string {
  const p = fileURLToPath(new URL(rel, import.meta.url));
  return existsSync(p) ? p : p.replace(/\/src\//, '/dist/src/');
}
const MAIN = built('../cli/main.js');
const TOOL = built('./netns-tool.js');

export interface DaemonProc { hv: 1 | 2; child: ChildProcess; socket: string; configFile: string; logFile: string; exit: Promise<number | null>; /** Core the daemon is pinned to (taskset), if any. */ cpu?: number }
export interface PingResult { sent: number; received: number; rttMs: number[] }

export class OverlayLab {
  readonly topo: Topology;
  readonly dir: string;
  daemons: DaemonProc[] = [];
  /** The daemons stopDaemons() stopped last (restartDaemon can start them again). */
  private stopped: DaemonProc[] = [];
  private closed = false;
  /** Namespaces deleted: a close() still stopping its daemons when the process exits has not got there yet. */
  private destroyed = false;

  constructor(tag: string, opts: { v6?: boolean } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    try {
      this.topo = createTopology(tag, opts);
    } catch (err) {
      rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
  }

  vm(name: string): Vm {
    const v = this.topo.vms.find((x) => x.name === name);
    if (!v) throw new Error(`no VM ${name}`);
    return v;
  }

  /**
   * Start one daemon per hypervisor with the given network type; resolves when both answer on their sockets.
   * `cpus`: pin hv1's and hv2's daemon to these cores (taskset), as the latency benchmark does.
   */
  async startDaemons(o: Omit<DaemonConfigOptions, 'socket'>, timeoutMs = 15000, cpus?: [number, number]): Promise<void> {
    for (const hv of [1, 2] as const) {
      const socket = join(this.dir, `hv${hv}.sock`);
      const configFile = join(this.dir, `hv${hv}.json`);
      writeFileSync(configFile, JSON.stringify(daemonConfig(this.topo, hv, { ...o, socket }), null, 2));
      this.daemons.push(this.spawnDaemon(hv, socket, configFile, join(this.dir, `hv${hv}-${o.type}.log`), process.env, cpus?.[hv - 1]));
    }
    const deadline = Date.now() + timeoutMs;
    for (const d of this.daemons) await this.waitReady(d, deadline, timeoutMs);
  }

  /** Start hypervisor `hv`'s daemon only (the other side may be the kernel's own VTEP); resolves when it answers. */
  async startDaemon(hv: 1 | 2, o: Omit<DaemonConfigOptions, 'socket'>, timeoutMs = 15000): Promise<DaemonProc> {
    const socket = join(this.dir, `hv${hv}.sock`);
    const configFile = join(this.dir, `hv${hv}.json`);
    writeFileSync(configFile, JSON.stringify(daemonConfig(this.topo, hv, { ...o, socket }), null, 2));
    const d = this.spawnDaemon(hv, socket, configFile, join(this.dir, `hv${hv}-${o.type}.log`), process.env);
    this.daemons.push(d);
    await this.waitReady(d, Date.now() + timeoutMs, timeoutMs);
    return d;
  }

  /**
   * Start hypervisor `hv`'s daemon again with the config file it had (after it was
   * stopped or killed), with `env` for the child; resolves when it answers, throws
   * with the log tail when it exits instead.
   */
  async restartDaemon(hv: 1 | 2, env: NodeJS.ProcessEnv = process.env, timeoutMs = 15000): Promise<DaemonProc> {
    let i = this.daemons.findIndex((d) => d.hv === hv);
    if (i < 0) {
      const last = this.stopped.find((d) => d.hv === hv); // stopped by stopDaemons()
      if (last === undefined) throw new Error(`no daemon was started on hv${hv}`);
      i = this.daemons.push(last) - 1;
    }
    const old = this.daemons[i];
    if (old.child.exitCode === null && old.child.signalCode === null) throw new Error(`vtepd on hv${hv} is still running`);
    const d = this.spawnDaemon(hv, old.socket, old.configFile, old.logFile.replace(/(-r\d+)?\.log$/, `-r${Date.now() % 100000}.log`), env, old.cpu);
    this.daemons[i] = d;
    await this.waitReady(d, Date.now() + timeoutMs, timeoutMs);
    return d;
  }

  private spawnDaemon(hv: 1 | 2, socket: string, configFile: string, logFile: string, env: NodeJS.ProcessEnv, cpu?: number): DaemonProc {
    const out = createWriteStream(logFile);
    const cmd = ['ip', 'netns', 'exec', this.topo.hvNs[hv - 1], process.execPath, MAIN, 'run', '--config', configFile];
    if (cpu !== undefined) cmd.unshift('taskset', '-c', String(cpu)); // taskset and ip both exec: the pid is the daemon's
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { hv, child, socket, configFile, logFile, exit, cpu };
  }

  private async waitReady(d: DaemonProc, deadline: number, timeoutMs: number): Promise<void> {
    for (;;) {
      if (d.child.exitCode !== null) {
        await sleep(50); // let the piped log reach the file
        throw new Error(`vtepd on hv${d.hv} exited (${d.child.exitCode}): ${this.logTail(d)}`);
      }
      const ok = await controlRequest(d.socket, 'ping', {}, 1000).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`vtepd on hv${d.hv} did not come up in ${timeoutMs} ms: ${this.logTail(d)}`);
      await sleep(100);
    }
  }

  /** Rewrite both configs with a new network type and reload the daemons with SIGHUP (ports stay open). */
  async reconfigure(o: Omit<DaemonConfigOptions, 'socket'>, timeoutMs = 10000): Promise<void> {
    for (const d of this.daemons) {
      writeFileSync(d.configFile, JSON.stringify(daemonConfig(this.topo, d.hv, { ...o, socket: d.socket }), null, 2));
      d.child.kill('SIGHUP');
    }
    const deadline = Date.now() + timeoutMs;
    for (const d of this.daemons) {
      for (;;) {
        const st = await controlRequest(d.socket, 'status', {}, 1000).catch(() => null);
        const nets = (st?.result as { networks?: { type: string }[] } | undefined)?.networks;
        if (nets?.[0]?.type === o.type) break;
        if (Date.now() > deadline) throw new Error(`vtepd on hv${d.hv} did not reload to ${o.type}: ${this.logTail(d)}`);
        await sleep(50);
      }
    }
  }

  logTail(d: DaemonProc, n = 600): string {
    try { return readFileSync(d.logFile, 'utf8').slice(-n).trim(); } catch { return '(no log)'; }
  }

  /** SIGTERM both daemons and wait for them (SIGKILL after `timeoutMs`): exit code and the final-counters log record. */
  async stopDaemons(timeoutMs = 5000): Promise<{ hv: 1 | 2; code: number | null; final: FinalRecord | null }[]> {
    const ds = this.daemons;
    this.daemons = [];
    this.stopped = ds;
    for (const d of ds) if (d.child.exitCode === null) d.child.kill('SIGTERM');
    return Promise.all(ds.map(async (d) => {
      const t = setTimeout(() => d.child.kill('SIGKILL'), timeoutMs);
      const code = await d.exit;
      clearTimeout(t);
      await sleep(20); // let the piped log reach the file
      return { hv: d.hv, code, final: finalRecord(d.logFile) };
    }));
  }

  /** Run netns-tool in a VM's namespace. */
  tool(vm: string, args: string[], timeoutMs = 30000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', this.vm(vm).ns, process.execPath, TOOL, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${vm}: netns-tool ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }

  /** `count` echoes one after the other (`intervalMs` apart); each waits `timeoutMs` for its reply. */
  async ping(from: string, to: string, count = 3, timeoutMs = 1000, intervalMs = 0): Promise<PingResult> {
    const out = await this.tool(from, ['ping', this.vm(to).ip4, String(count), String(timeoutMs), String(intervalMs)], Math.max(30000, count * (timeoutMs + intervalMs) + 10000));
    const last = out.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as PingResult;
    } catch {
      throw new Error(`${from}: netns-tool ping ${this.vm(to).ip4} printed no result (${JSON.stringify(out.slice(-200))})`);
    }
  }

  /** Send `bytes` over TCP from one VM to another; returns what each side counted and hashed. */
  async bulk(from: string, to: string, bytes: number, port = 5201): Promise<{ sent: { bytes: number; sha: string }; got: { bytes: number; sha: string } }> {
    const sink = spawn('ip', ['netns', 'exec', this.vm(to).ns, process.execPath, TOOL, 'sink', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let buf = '';
      const lines: string[] = [];
      const gotP = new Promise<string>((resolve, reject) => {
        sink.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); if (lines.length === 2) resolve(lines[1]); }
        });
        sink.once('exit', () => reject(new Error('sink exited early')));
      });
      for (let k = 0; k < 100 && lines.length === 0; k++) await sleep(50);
      if (lines[0] !== 'listening') throw new Error('TCP sink did not start');
      const sent = JSON.parse((await this.tool(from, ['send', this.vm(to).ip4, String(port), String(bytes)], 60000)).trim()) as { bytes: number; sha: string };
      const got = JSON.parse(await Promise.race([gotP, sleep(10000).then(() => { throw new Error('sink did not finish'); })])) as { bytes: number; sha: string };
      return { sent, got };
    } finally {
      sink.kill('SIGKILL');
    }
  }

  /** Stop daemons, delete namespaces and the temp folder. Idempotent; never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopDaemons(2000).catch(() => undefined);
    this.destroy();
  }

  /**
   * Synchronous last-resort cleanup (process 'exit'): kill children, delete namespaces.
   * Also finishes a close() that was still waiting for its daemons (a test runner's
   * signal handler starts the teardown and exits before it is done).
   */
  closeSync(): void {
    if (this.destroyed) return;
    this.closed = true;
    for (const d of this.daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    this.destroy();
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    destroyTopology(this.topo);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface FinalRecord { event: 'stopped'; signal: string; counters: StatsSnapshot }

/** The daemon's last 'stopped' log record (JSON line with the final counters), or null. */
export function finalRecord(logFile: string): FinalRecord | null {
  let text = '';
  try { text = readFileSync(logFile, 'utf8'); } catch { return null; }
  for (const line of text.trim().split('\n').reverse()) {
    try {
      const r = JSON.parse(line) as { event?: string };
      if (r.event === 'stopped') return r as FinalRecord;
    } catch { /* not JSON */ }
  }
  return null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

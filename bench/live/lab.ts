/**
 * The live benchmark's namespaces: one VTEP between a generator and a sink.
 *
 *   [G] gen0 ──veth── vm0 [H: VTEP] ul0 192.0.2.1 ──veth── ul0 [S] (no address)
 *
 * The VTEP in H is either a `vtepd run` daemon (AF_PACKET on vm0 and ul0) or
 * the Linux kernel bridge + vxlan device (KernelVtep); both encapsulate frames
 * from the generator's source MAC towards DST_MAC, a static FDB entry behind
 * remote 192.0.2.2 (VNI 100, UDP 4789, no outer UDP checksum). S has no IP
 * address and H has a permanent neighbour entry for 192.0.2.2, so no ARP, ICMP
 * or IP processing of the tunnel traffic happens at the far end: S's ul0 rx
 * counter is the count of delivered frames. IPv6 is off on every link.
 * Namespace names carry the pid; close()/closeSync() are idempotent.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/control/control-client.js';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';

export const VNI = 100;
export const SRC_MAC = '02:00:00:00:00:01';
export const DST_MAC = '02:00:00:00:00:02';
export const LOCAL = '192.0.2.1';
export const REMOTE = '192.0.2.2';
const SINK_MAC = '02:00:00:00:ff:02';
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function quiet(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* knob absent */ }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class LiveLab {
  readonly gen: string;
  readonly hv: string;
  readonly sink: string;
  readonly dir: string;
  daemon: ChildProcess | null = null;
  private kernel: KernelVtep | null = null;
  private closed = false;

  constructor(tag = `vtl${process.pid}`) {
    this.gen = `${tag}g`;
    this.hv = `${tag}h`;
    this.sink = `${tag}s`;
    this.dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    try {
      for (const ns of [this.gen, this.hv, this.sink]) {
        ip(['netns', 'add', ns]);
        quiet('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      }
      ip(['-n', this.gen, 'link', 'add', 'gen0', 'type', 'veth', 'peer', 'name', 'vm0', 'netns', this.hv]);
      ip(['-n', this.hv, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', this.sink]);
      ip(['-n', this.gen, 'link', 'set', 'gen0', 'address', SRC_MAC, 'up']);
      ip(['-n', this.hv, 'link', 'set', 'vm0', 'up']);
      ip(['-n', this.sink, 'link', 'set', 'ul0', 'address', SINK_MAC, 'up']);
      ip(['-n', this.hv, 'addr', 'add', `${LOCAL}/24`, 'dev', 'ul0']);
      ip(['-n', this.hv, 'link', 'set', 'ul0', 'up']);
      ip(['-n', this.hv, 'neigh', 'replace', REMOTE, 'lladdr', SINK_MAC, 'dev', 'ul0', 'nud', 'permanent']);
    } catch (e) {
      this.closeSync();
      throw new Error(`building the namespaces failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`, { cause: e });
    }
  }

  /** Start `vtepd run` in H; resolves with its pid once the control socket answers. */
  async startVtepd(batchSize = 64, timeoutMs = 15000): Promise<number> {
    const socket = join(this.dir, 'vtepd.sock');
    const config = {
      underlay: { interface: 'ul0', address: LOCAL, transport: 'afpacket', mtu: 1500 },
      ports: [{ name: 'vm0', interface: 'vm0', backend: 'afpacket' }],
      networks: [{ name: 'bench', vni: VNI, type: 'vxlan', ports: ['vm0'], remotes: [REMOTE] }],
      fdb: { static: [{ vni: VNI, mac: DST_MAC, remote: REMOTE }] },
      control: { socket },
      metrics: { enabled: false, listen: '127.0.0.1:9580' },
      log: { level: 'warn' },
      batch: { size: batchSize },
    };
    const file = join(this.dir, 'vtepd.json');
    writeFileSync(file, JSON.stringify(config));
    let log = '';
    const child = spawn('ip', ['netns', 'exec', this.hv, process.execPath, MAIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2000); });
    child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2000); });
    this.daemon = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vtepd exited (${child.exitCode}): ${log.trim()}`);
      if (await controlRequest(socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) return child.pid!; // ip netns exec execs: same pid
      if (Date.now() > deadline) throw new Error(`vtepd did not come up in ${timeoutMs} ms: ${log.trim()}`);
      await sleep(100);
    }
  }

  get socket(): string { return join(this.dir, 'vtepd.sock'); }

  async stopVtepd(): Promise<void> {
    const d = this.daemon;
    this.daemon = null;
    if (!d || d.exitCode !== null) return;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    const t = setTimeout(() => d.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }

  /** The kernel datapath in H: bridge vtb + vxlan vtx, vm0 enslaved, the same static FDB entry. */
  async startKernel(): Promise<void> {
    const kv = new KernelVtep({ netns: this.hv, vni: VNI, local: LOCAL, underlayDev: 'ul0', udpChecksum: false, ports: ['vm0'], vxlanName: 'vtx', bridgeName: 'vtb' });
    await kv.create();
    this.kernel = kv;
    await kv.sync({ floodRemotes: [], entries: [{ mac: DST_MAC, dst: REMOTE }] });
    // The bridge side of the same entry: DST_MAC leaves through the vxlan port without a flood.
    ip(['netns', 'exec', this.hv, 'bridge', 'fdb', 'replace', DST_MAC, 'dev', 'vtx', 'master', 'static']);
  }

  async stopKernel(): Promise<void> {
    const kv = this.kernel;
    this.kernel = null;
    await kv?.destroy();
  }

  /** rx packets and bytes of an interface (ip -s -j link). */
  rxCounters(ns: string, dev: string): { packets: number; bytes: number } {
    const [l] = JSON.parse(ip(['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev])) as { stats64: { rx: { packets: number; bytes: number } } }[];
    return { packets: l.stats64.rx.packets, bytes: l.stats64.rx.bytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopVtepd().catch(() => undefined);
    this.closeSync();
  }

  /** Kill the daemon, delete the namespaces (their veths and kernel devices go with them) and the temp folder. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.daemon && this.daemon.exitCode === null) this.daemon.kill('SIGKILL');
    for (const ns of [this.gen, this.hv, this.sink]) {
      if (existsSync(`/run/netns/${ns}`)) quiet('ip', ['netns', 'del', ns]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

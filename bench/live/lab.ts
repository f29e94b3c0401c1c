/**
 * The live benchmark's namespaces: one VTEP between a generator and a sink.
 *
 *   [G] gen0 ──veth── A [H: device under test] B ──veth── snk0 [S] (no address)
 *
 *   direction  A (generator side)   B (sink side)        what H does
 *   encap      vm0 (VM port)        ul0 192.0.2.1        VXLAN encap towards 192.0.2.2
 *   decap      ul0 192.0.2.1        vm0 (VM port)        VXLAN decap from 192.0.2.2
 *   l2         vm0 (VM port)        vm1 (VM port)        bridging in one network
 *
 * H runs one setup at a time: the Linux kernel (bridge + vxlan device,
 * KernelVtep) or `vtepd run` with the host plan, the native plan, or the native
 * plan on AF_XDP ports and underlay, or the xdp plan (vtepd's eBPF programs on
 * A and B's sides, AF_PACKET ports behind them as the slow path). Each setup holds one static FDB entry for
 * DST_MAC (behind the remote, or on the sink-side port), so nothing floods. S has
 * no IP address and H a permanent neighbour entry for the remote: no ARP, ICMP or
 * IP processing happens at the far end, and S's rx counter is the count of
 * delivered frames. IPv6 is off on every link.
 *
 * Fairness: the generator (G) runs on one core; A's NAPI runs in a kernel thread
 * (threaded NAPI) pinned with the daemon to the other core, so everything the
 * device under test does, kernel or vtepd, happens on that core. That thread
 * runs at nice 19, so a userspace daemon is not starved by the thread that
 * fills its ring (see pinNapi). A has GRO on,
 * which puts a veth in NAPI mode (XDP frames from the generator need it). The
 * sink's receive work is no setup's: snk0 runs vtepd_benchsink.bpf.o, which
 * drops every frame at the XDP hook after the veth counted it (and puts snk0
 * in NAPI mode, which the xdp plan's redirects into B need), and its NAPI runs
 * in a thread on the generator's core at real-time priority, for every setup
 * alike.
 * Namespace names carry the pid; close()/closeSync() are idempotent.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../../src/control/control-client.js';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';
import { bpfObjectPath } from '../../src/native/af-xdp-native.js';

export const VNI = 100;
export const SRC_MAC = '02:00:00:00:00:01';
export const DST_MAC = '02:00:00:00:00:02';
export const LOCAL = '192.0.2.1';
export const REMOTE = '192.0.2.2';
export const UL0_MAC = '02:00:00:00:aa:01';
export const REMOTE_MAC = '02:00:00:00:ff:02';
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export type Direction = 'encap' | 'decap' | 'l2';
/** vtepd's setups: each a ports/underlay backend and an offload plan. */
const VTEPD_SETUPS = {
  host: { backend: 'afpacket', offload: {} },
  native: { backend: 'afpacket', offload: { 'encap-decap': 'native', 'forwarding-learning': 'native' } },
  'host-afxdp': { backend: 'afxdp', offload: {} },
  afxdp: { backend: 'afxdp', offload: { 'encap-decap': 'native', 'forwarding-learning': 'native' } },
  xdp: { backend: 'afpacket', offload: { 'encap-decap': 'xdp', 'forwarding-learning': 'xdp' } },
} as const;
/** Every setup bench:live knows, in its default order. */
export const SETUPS = ['kernel', ...(Object.keys(VTEPD_SETUPS) as (keyof typeof VTEPD_SETUPS)[])] as const;
export type Setup = (typeof SETUPS)[number];

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
  /** H's interface facing the generator and the one facing the sink. */
  readonly a: string;
  readonly b: string;
  daemon: ChildProcess | null = null;
  private kernel: KernelVtep | null = null;
  private closed = false;

  constructor(readonly direction: Direction, readonly dutCpu: number, readonly sinkCpu: number, tag = `vtl${process.pid}`) {
    this.gen = `${tag}g`;
    this.hv = `${tag}h`;
    this.sink = `${tag}s`;
    [this.a, this.b] = direction === 'encap' ? ['vm0', 'ul0'] : direction === 'decap' ? ['ul0', 'vm0'] : ['vm0', 'vm1'];
    this.dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    try {
      for (const ns of [this.gen, this.hv, this.sink]) {
        ip(['netns', 'add', ns]);
        quiet('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      }
      ip(['-n', this.gen, 'link', 'add', 'gen0', 'type', 'veth', 'peer', 'name', this.a, 'netns', this.hv]);
      ip(['-n', this.hv, 'link', 'add', this.b, 'type', 'veth', 'peer', 'name', 'snk0', 'netns', this.sink]);
      ip(['-n', this.gen, 'link', 'set', 'gen0', 'address', direction === 'decap' ? REMOTE_MAC : SRC_MAC, 'up']);
      ip(['-n', this.sink, 'link', 'set', 'snk0', 'address', REMOTE_MAC, 'up']);
      // l2: the underlay is needed by the config but carries nothing; a veth with its peer in H.
      if (direction === 'l2') ip(['-n', this.hv, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0p']);
      for (const d of direction === 'l2' ? [this.a, this.b, 'ul0', 'ul0p'] : [this.a, this.b]) {
        if (d === 'ul0') ip(['-n', this.hv, 'link', 'set', d, 'address', UL0_MAC]);
        ip(['-n', this.hv, 'link', 'set', d, 'up']);
      }
      ip(['-n', this.hv, 'addr', 'add', `${LOCAL}/24`, 'dev', 'ul0']);
      if (direction === 'encap') ip(['-n', this.hv, 'neigh', 'replace', REMOTE, 'lladdr', REMOTE_MAC, 'dev', 'ul0', 'nud', 'permanent']);
      ip(['netns', 'exec', this.hv, 'ethtool', '-K', this.a, 'gro', 'on']);
      // The sink's receive work is no setup's: an XDP program drops each frame once snk0 counted it (no skb, the
      // cheapest receive there is; it also puts snk0 in NAPI mode, which XDP redirects into B need), its NAPI in a
      // thread on the generator's core at real-time priority, so the DUT core never runs it. The sink and the
      // generator share that core: run.ts flags points where the generator could not overload the DUT.
      ip(['-n', this.sink, 'link', 'set', 'dev', 'snk0', 'xdpdrv', 'obj', bpfObjectPath('vtepd_benchsink.bpf.o'), 'sec', 'xdp']);
      for (const pid of this.pinNapiOf(this.sink, 'snk0', sinkCpu)) quiet('chrt', ['-f', '-p', '50', String(pid)]);
    } catch (e) {
      this.closeSync();
      throw new Error(`building the namespaces failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`, { cause: e });
    }
  }

  get socket(): string { return join(this.dir, 'vtepd.sock'); }

  private vtepdConfig(setup: Exclude<Setup, 'kernel'>, batchSize: number): object {
    const { backend, offload } = VTEPD_SETUPS[setup];
    const ports = this.direction === 'l2' ? ['vm0', 'vm1'] : ['vm0'];
    const dstPort = this.direction === 'l2' ? 'vm1' : this.direction === 'decap' ? 'vm0' : null;
    return {
      underlay: { interface: 'ul0', address: LOCAL, transport: backend, mtu: 1500 },
      ports: ports.map((p) => ({ name: p, interface: p, backend })),
      networks: [{ name: 'bench', vni: VNI, type: 'vxlan', ports, remotes: [REMOTE] }],
      fdb: { static: [dstPort ? { vni: VNI, mac: DST_MAC, port: dstPort } : { vni: VNI, mac: DST_MAC, remote: REMOTE }] },
      control: { socket: this.socket },
      metrics: { enabled: false, listen: '127.0.0.1:9580' },
      log: { level: 'warn' },
      batch: { size: batchSize },
      offload,
    };
  }

  /** Start `vtepd run` in H, pinned to the DUT core; resolves with its pid once the control socket answers. */
  async startVtepd(setup: Exclude<Setup, 'kernel'>, batchSize = 64, timeoutMs = 15000): Promise<number> {
    const file = join(this.dir, 'vtepd.json');
    writeFileSync(file, JSON.stringify(this.vtepdConfig(setup, batchSize)));
    let log = '';
    const child = spawn('ip', ['netns', 'exec', this.hv, 'taskset', '-c', String(this.dutCpu), process.execPath, MAIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2000); });
    child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-2000); });
    this.daemon = child;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`vtepd (${setup}) exited (${child.exitCode}): ${log.trim()}`);
      if (await controlRequest(this.socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`vtepd (${setup}) did not come up in ${timeoutMs} ms: ${log.trim()}`);
      await sleep(100);
    }
    this.pinNapi();
    return child.pid!; // ip netns exec and taskset exec: same pid
  }

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

  /** The kernel datapath in H: bridge vtb + vxlan vtx with the VM-side ports enslaved and the same static FDB entry. */
  async startKernel(): Promise<void> {
    const ports = this.direction === 'l2' ? ['vm0', 'vm1'] : ['vm0'];
    const kv = new KernelVtep({ netns: this.hv, vni: VNI, local: LOCAL, underlayDev: 'ul0', udpChecksum: false, ports, vxlanName: 'vtx', bridgeName: 'vtb' });
    await kv.create();
    this.kernel = kv;
    if (this.direction === 'encap') {
      await kv.sync({ floodRemotes: [], entries: [{ mac: DST_MAC, dst: REMOTE }] });
      ip(['netns', 'exec', this.hv, 'bridge', 'fdb', 'replace', DST_MAC, 'dev', 'vtx', 'master', 'static']);
    } else {
      ip(['netns', 'exec', this.hv, 'bridge', 'fdb', 'replace', DST_MAC, 'dev', this.direction === 'l2' ? 'vm1' : 'vm0', 'master', 'static']);
    }
    this.pinNapi();
  }

  async stopKernel(): Promise<void> {
    const kv = this.kernel;
    this.kernel = null;
    await kv?.destroy();
  }

  /**
   * Put A's NAPI in a kernel thread and pin it to the DUT core. Called after each
   * setup starts: attaching an XDP program (AF_XDP) rebuilds the NAPI context.
   */
  pinNapi(): void {
    // Nice 19: under overload a userspace data path and the NAPI thread that fills its ring share the core, and at
    // equal weight the producer takes two thirds of it for frames the full ring then drops (receive livelock). A
    // kernel thread is not in the daemon's cgroup, so it is the thread, not the daemon, that must yield. The kernel
    // and xdp setups do all their work in this thread, alone on the core: its weight changes nothing for them.
    for (const pid of this.pinNapiOf(this.hv, this.a, this.dutCpu)) quiet('renice', ['-n', '19', '-p', String(pid)]);
  }

  /** Threaded NAPI for `dev` in `ns`, its thread(s) pinned to `cpu`; returns their pids. */
  private pinNapiOf(ns: string, dev: string, cpu: number): number[] {
    ip(['netns', 'exec', ns, 'sh', '-c', `echo 1 > /sys/class/net/${dev}/threaded`]);
    const prefix = `napi/${dev}-`;
    const pinned: number[] = [];
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let comm = '';
      try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
      if (!comm.startsWith(prefix)) continue;
      quiet('taskset', ['-pc', String(cpu), pid]);
      pinned.push(Number(pid));
    }
    if (pinned.length === 0) throw new Error(`no NAPI thread ${prefix}* found for ${dev} in ${ns}: threaded NAPI did not start`);
    return pinned;
  }

  /** The kernel's counters of an interface (ip -s -j link). */
  private linkStats(ns: string, dev: string): { rx: { packets: number; bytes: number; dropped: number }; tx: { dropped: number } } {
    const [l] = JSON.parse(ip(['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev])) as { stats64: { rx: { packets: number; bytes: number; dropped: number }; tx: { dropped: number } } }[];
    return l.stats64;
  }

  /** rx packets and bytes of an interface. */
  rxCounters(ns: string, dev: string): { packets: number; bytes: number; dropped: number } {
    const { packets, bytes, dropped } = this.linkStats(ns, dev).rx;
    return { packets, bytes, dropped };
  }

  /**
   * Frames the sink refused: what B could not hand to snk0 (its queue full), counted by the veth as B's tx drops
   * and snk0's rx drops. Non-zero means the sink, not the device under test, limited that point.
   */
  sinkRefused(): number {
    return this.linkStats(this.hv, this.b).tx.dropped + this.rxCounters(this.sink, 'snk0').dropped;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopVtepd().catch(() => undefined);
    await this.stopKernel().catch(() => undefined);
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

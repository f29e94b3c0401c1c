/**
 * An EVPN lab in network namespaces: N hypervisors on one underlay segment (a
 * bridge in a "switch" namespace), each with its own gobgpd (iBGP full mesh,
 * AS 65000, L2VPN/EVPN) and a vtepd with `control-plane: evpn` and no
 * remotes; one VM per hypervisor (vmH: MAC 02:00:00:00:0H:01, 10.10.0.H/24).
 * Used by test/evpn/ and bench/evpn-*. Everything is created inside namespaces
 * named after a unique tag and removed again, also by closeSync() on exit.
 *
 *   [vm1]─vm1┐         ┌──────── sw (bridge) ────────┐         ┌vm3─[vm3]
 *            [hv1]─ul0─┘ 192.0.2.1  192.0.2.2  192.0.2.3 └─ul0─[hv3]
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlRequest } from '../control/control-client.js';
import type { FdbEntryJson } from '../control/fdb-entry.js';

function built(rel: string): string {
  const p = fileURLToPath(new URL(rel, import.meta.url));
  return existsSync(p) ? p : p.replace(/\/src\//, '/dist/src/');
}
export const VTEPD_MAIN = built('../cli/main.js');
const TOOL = built('./netns-tool.js');
export const GOBGPD = '/usr/bin/gobgpd';
export const GOBGP = '/usr/bin/gobgp';
export const ASN = 65000;

export interface Proc { name: string; child: ChildProcess; log: string; exit: Promise<number | null> }
export interface Hv { n: number; ns: string; ip: string; socket: string; config: string; gobgp: Proc | null; vtepd: Proc | null }
export interface LabVm { name: string; ns: string; hv: number; port: string; mac: string; ip: string }
export interface VtepdOptions { type?: 'vxlan' | 'geneve' | 'nvgre'; vni?: number; holdTime?: number; offload?: Record<string, string>; extraPorts?: string[] }

export function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
function quiet(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* knob absent */ }
}

/** Why the EVPN lab cannot run here, or false. */
export function evpnLabSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!existsSync(GOBGPD)) return 'gobgpd is not installed (apt-get install gobgpd)';
  if (!existsSync('/usr/share/gocode/src/github.com/osrg/gobgp/api/gobgp.proto')) return 'GoBGP .proto files missing (apt-get install golang-github-osrg-gobgp-dev)';
  if (!existsSync(VTEPD_MAIN.replace(/\/src\/.*$/, '/src/cli/main.js')) && !existsSync(VTEPD_MAIN)) return 'run npm run build first';
  return false;
}

export class EvpnLab {
  readonly dir: string;
  readonly sw: string;
  readonly hvs: Hv[] = [];
  readonly vms: LabVm[] = [];
  private readonly namespaces: string[] = [];
  private readonly procs: Proc[] = [];
  private closed = false;
  /** Namespaces deleted: a close() still stopping its daemons when the process exits has not got there yet. */
  private destroyed = false;

  constructor(readonly tag: string, count = 3) {
    this.dir = mkdtempSync(join(tmpdir(), `${tag}-`));
    this.sw = `${tag}-sw`;
    try {
      this.addNs(this.sw);
      ip(['-n', this.sw, 'link', 'add', 'br0', 'type', 'bridge']);
      ip(['-n', this.sw, 'link', 'set', 'br0', 'up']);
      for (let h = 1; h <= count; h++) this.addHv(h);
    } catch (err) {
      this.closeSync();
      const e = err as Error & { stderr?: Buffer };
      throw new Error(`building the EVPN lab failed: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
    }
  }

  private addNs(ns: string): void {
    ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  private addHv(h: number): void {
    const ns = `${this.tag}-hv${h}`;
    this.addNs(ns);
    ip(['-n', ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', `p${h}`, 'netns', this.sw]);
    ip(['-n', this.sw, 'link', 'set', `p${h}`, 'master', 'br0', 'up']);
    const addr = `192.0.2.${h}`;
    ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'ul0']);
    ip(['-n', ns, 'link', 'set', 'ul0', 'up']);
    const hv: Hv = { n: h, ns, ip: addr, socket: join(this.dir, `hv${h}.sock`), config: join(this.dir, `hv${h}.json`), gobgp: null, vtepd: null };
    this.hvs.push(hv);
    this.addVm(hv, `vm${h}`, `02:00:00:00:0${h.toString(16)}:01`, `10.10.0.${h}`);
  }

  /** A VM namespace behind hypervisor `hv` on port `port` (a veth). */
  addVm(hv: Hv, name: string, mac: string, addr: string, port = name): LabVm {
    const ns = `${this.tag}-${name}`;
    if (!this.namespaces.includes(ns)) {
      this.addNs(ns);
      quiet('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    const ifc = this.vms.filter((v) => v.ns === ns).length === 0 ? 'eth0' : `eth${this.vms.filter((v) => v.ns === ns).length}`;
    ip(['-n', hv.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifc, 'netns', ns]);
    quiet('ip', ['netns', 'exec', hv.ns, 'sysctl', '-qw', `net.ipv6.conf.${port}.disable_ipv6=1`]);
    ip(['-n', ns, 'link', 'set', ifc, 'address', mac, 'mtu', '1400']);
    if (ifc === 'eth0') ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifc]);
    quiet('ip', ['netns', 'exec', ns, 'ethtool', '-K', ifc, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    quiet('ip', ['netns', 'exec', hv.ns, 'ethtool', '-K', port, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    ip(['-n', hv.ns, 'link', 'set', port, 'up']);
    if (ifc === 'eth0') ip(['-n', ns, 'link', 'set', ifc, 'up']);
    const vm = { name, ns, hv: hv.n, port, mac, ip: addr };
    this.vms.push(vm);
    return vm;
  }

  /** Take a VM's interface down (it left this hypervisor). */
  vmDown(name: string, ifc: string): void {
    const ns = this.vm(name).ns;
    try { execFileSync('ip', ['-n', ns, 'addr', 'flush', 'dev', ifc], { stdio: 'ignore' }); } catch { /* no address */ }
    ip(['-n', ns, 'link', 'set', ifc, 'down']);
  }

  /** Bring a VM's interface up with the VM's address (it arrived on that hypervisor). */
  vmUp(name: string, ifc: string, addr: string): void {
    const ns = this.vm(name).ns;
    ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', ifc]);
    ip(['-n', ns, 'link', 'set', ifc, 'up']);
  }

  hv(n: number): Hv { return this.hvs[n - 1]; }
  vm(name: string): LabVm {
    const v = this.vms.find((x) => x.name === name);
    if (!v) throw new Error(`no VM ${name}`);
    return v;
  }

  /** gobgpd's config for hv `h`: iBGP to every other hypervisor (or only to `peers`), L2VPN/EVPN. */
  gobgpConfig(h: Hv, peers = this.hvs.filter((x) => x !== h).map((x) => x.ip)): string {
    const lines = ['[global.config]', `  as = ${ASN}`, `  router-id = "${h.ip}"`, `  local-address-list = ["${h.ip}"]`, ''];
    for (const p of peers) {
      lines.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${p}"`, `    peer-as = ${ASN}`,
        '  [neighbors.transport.config]', `    local-address = "${h.ip}"`,
        '  [neighbors.timers.config]', '    connect-retry = 1', '    hold-time = 9', '    keepalive-interval = 3',
        '  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', '      afi-safi-name = "l2vpn-evpn"', '');
    }
    return lines.join('\n');
  }

  spawnIn(ns: string, name: string, cmd: string, args: string[]): Proc {
    const log = join(this.dir, `${name}.log`);
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const p = { name, child, log, exit };
    this.procs.push(p);
    return p;
  }

  startGobgp(h: Hv, config = this.gobgpConfig(h)): Proc {
    const file = join(this.dir, `gobgp${h.n}.toml`);
    writeFileSync(file, config);
    h.gobgp = this.spawnIn(h.ns, `gobgpd${h.n}`, GOBGPD, ['-f', file, '-t', 'toml', '--api-hosts', '127.0.0.1:50051', '--pprof-disable', '-p', '-l', 'warn']);
    return h.gobgp;
  }

  /** vtepd config for hv `h`: one network with this hypervisor's VM ports, no remotes, control-plane evpn. */
  vtepdConfig(h: Hv, o: VtepdOptions = {}): Record<string, unknown> {
    const ports = [...this.vms.filter((v) => v.hv === h.n).map((v) => v.port), ...(o.extraPorts ?? [])];
    return {
      underlay: { interface: 'ul0', address: h.ip, transport: 'afpacket' },
      ports: ports.map((p) => ({ name: p, interface: p, backend: 'afpacket' })),
      networks: [{ name: 'tenant', vni: o.vni ?? 100, type: o.type ?? 'vxlan', ports }],
      'control-plane': 'evpn',
      evpn: { api: '127.0.0.1:50051', holdTime: o.holdTime ?? 180 },
      control: { socket: h.socket },
      metrics: { enabled: false },
      log: { level: 'info' },
      ...(o.offload ? { offload: o.offload } : {}),
    };
  }

  async startVtepd(h: Hv, o: VtepdOptions = {}, cfg = this.vtepdConfig(h, o)): Promise<Proc> {
    writeFileSync(h.config, JSON.stringify(cfg, null, 2));
    // VTEPD_LAB_NODE_ARGS: extra node flags for the daemons (e.g. --cpu-prof --cpu-prof-dir=/tmp/p when profiling).
    const nodeArgs = (process.env.VTEPD_LAB_NODE_ARGS ?? '').split(' ').filter(Boolean);
    h.vtepd = this.spawnIn(h.ns, `vtepd${h.n}`, process.execPath, [...nodeArgs, VTEPD_MAIN, 'run', '--config', h.config]);
    const deadline = Date.now() + 15000;
    for (;;) {
      if (h.vtepd.child.exitCode !== null) throw new Error(`vtepd on hv${h.n} exited: ${this.tail(h.vtepd)}`);
      if (await controlRequest(h.socket, 'ping', {}, 1000).then((r) => r.ok, () => false)) return h.vtepd;
      if (Date.now() > deadline) throw new Error(`vtepd on hv${h.n} did not come up: ${this.tail(h.vtepd)}`);
      await sleep(100);
    }
  }

  /** SIGTERM a process and wait (SIGKILL after ms). */
  async stop(p: Proc | null, ms = 5000): Promise<number | null> {
    if (p === null) return null;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), ms);
    const code = await p.exit;
    clearTimeout(t);
    return code;
  }

  tail(p: Proc, n = 800): string {
    try { return readFileSync(p.log, 'utf8').slice(-n).trim(); } catch { return '(no log)'; }
  }

  async request(h: Hv, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const r = await controlRequest(h.socket, cmd, args, 5000);
    if (!r.ok) throw new Error(`${cmd} on hv${h.n}: ${r.error?.message}`);
    return r.result;
  }

  fdb(h: Hv): Promise<FdbEntryJson[]> {
    return this.request(h, 'fdb.show') as Promise<FdbEntryJson[]>;
  }

  /** Poll `cond` every 20 ms until true or ms elapsed; returns the ms it took, or -1. */
  async until(cond: () => Promise<boolean> | boolean, ms: number): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      if (await cond()) return Date.now() - t0;
      if (Date.now() - t0 > ms) return -1;
      await sleep(20);
    }
  }

  tool(ns: string, args: string[], timeoutMs = 30000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('ip', ['netns', 'exec', ns, process.execPath, TOOL, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${ns}: netns-tool ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  }

  async ping(from: string, toIp: string, count = 3, timeoutMs = 1000): Promise<{ sent: number; received: number; rttMs: number[] }> {
    const out = await this.tool(this.vm(from).ns, ['ping', toIp, String(count), String(timeoutMs)]);
    return JSON.parse(out.trim().split('\n').pop()!) as { sent: number; received: number; rttMs: number[] };
  }

  /** TCP bulk transfer between two VMs with a sha256 of what each side saw. */
  async bulk(from: string, to: string, bytes: number, port = 5201): Promise<{ sent: { bytes: number; sha: string }; got: { bytes: number; sha: string } }> {
    const sink = spawn('ip', ['netns', 'exec', this.vm(to).ns, process.execPath, TOOL, 'sink', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let buf = '';
      const lines: string[] = [];
      const got = new Promise<string>((resolve, reject) => {
        sink.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, nl)); buf = buf.slice(nl + 1); if (lines.length === 2) resolve(lines[1]); }
        });
        sink.once('exit', () => reject(new Error('sink exited early')));
      });
      for (let k = 0; k < 100 && lines.length === 0; k++) await sleep(50);
      if (lines[0] !== 'listening') throw new Error('TCP sink did not start');
      const sent = JSON.parse((await this.tool(this.vm(from).ns, ['send', this.vm(to).ip, String(port), String(bytes)], 60000)).trim()) as { bytes: number; sha: string };
      const g = JSON.parse(await Promise.race([got, sleep(15000).then(() => { throw new Error('sink did not finish'); })])) as { bytes: number; sha: string };
      return { sent, got: g };
    } finally {
      sink.kill('SIGKILL');
    }
  }

  /** Stop every process, delete namespaces and the temp folder. Idempotent. */
  async close(keepDir = false): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.procs.map((p) => this.stop(p, 2000).catch(() => undefined)));
    this.deleteAll(keepDir);
  }

  /** Synchronous last-resort cleanup (process 'exit'); also finishes a close() still stopping its processes. */
  closeSync(): void {
    if (this.destroyed) return;
    this.closed = true;
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    this.deleteAll(false);
  }

  private deleteAll(keepDir: boolean): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.namespaces].reverse()) {
      if (!existsSync(`/run/netns/${ns}`)) continue;
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * `npm run bench:latency` (root): VM-to-VM round-trip time and one-stream TCP
 * throughput across two VTEPs, vtepd against the Linux kernel's vxlan + bridge
 * on the same namespaces, in the same run.
 *
 *   [vm11]─veth─[hv1]─ul0 veth ul0─[hv2]─veth─[vm21]      (src/lab/topology.ts, as `vtepd demo`)
 *
 * Setups: `kernel` (a vxlan device + bridge per hypervisor, KernelVtep) and one
 * row per offload plan x backend (`vtepd run` per hypervisor, each daemon
 * pinned to its own core: hv1 on CPU 0, hv2 on CPU 1). Cases per setup: RTT
 * idle (an echo every 10 ms: cores go idle between echoes); RTT back to back
 * (ping -A: the datapath's own round trip, no core idles); RTT under background UDP (iperf3, default 20 kpps of 64 B datagrams,
 * vm12 -> vm22, crossing both VTEPs like the pings); one iperf3 TCP stream
 * vm11 -> vm21. VNI 100, VXLAN, IPv4 underlay, VM MTU 1400, offloads off.
 *
 * Rows are plan/backend/pollN: N = afpacket.busyPollUs, how long a daemon keeps
 * polling its rings after the last frame before it sleeps (0: sleeps at once).
 *
 * `xdp` (--plans ...,xdp): the daemons with the xdp plan; the VMs' eth0 get GRO
 * on for that row only (redirects into a VM port need its peer in NAPI mode).
 *
 * Flags: --plans host,native[,xdp]  --backends afpacket[,afxdp]  --busy-poll 0,20000  --count 300  --b2b-count 2000
 *        --load-pps 20000  --tcp-seconds 5  --rounds 1  --out DIR (default docs/benchmarks)
 * A backend other than afpacket sets ports[].backend and underlay.transport to it;
 * a daemon that refuses the config gives a "skipped" row with its reason.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { unusedBase } from '../output-path.js';
import os from 'node:os';
import { OverlayLab } from '../../src/lab/harness.js';
import { KernelVtep } from '../../src/offload/kernel-vtep.js';
import { ping, startUdpLoad, summarize, tcpThroughput, type LoadResult, type Percentiles } from './measure.js';

interface Args { plans: string[]; backends: string[]; polls: number[]; count: number; b2bCount: number; loadPps: number; tcpSeconds: number; rounds: number; out: string }

function parseArgs(argv: string[]): Args {
  const a: Args = { plans: ['host', 'native'], backends: ['afpacket'], polls: [0, 20000], count: 300, b2bCount: 2000, loadPps: 20000, tcpSeconds: 5, rounds: 1, out: 'docs/benchmarks' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--plans') a.plans = v.split(',');
    else if (k === '--backends') a.backends = v.split(',');
    else if (k === '--busy-poll') a.polls = v.split(',').map(Number);
    else if (k === '--count') a.count = Number(v);
    else if (k === '--b2b-count') a.b2bCount = Number(v);
    else if (k === '--load-pps') a.loadPps = Number(v);
    else if (k === '--tcp-seconds') a.tcpSeconds = Number(v);
    else if (k === '--rounds') a.rounds = Number(v);
    else if (k === '--out') a.out = v;
    else throw new Error(`unknown flag ${k}`);
  }
  return a;
}

const PLAN: Record<string, Record<string, string> | undefined> = {
  host: undefined,
  native: { 'encap-decap': 'native', 'forwarding-learning': 'native' },
  xdp: { 'encap-decap': 'xdp', 'forwarding-learning': 'xdp' },
};

/** The xdp plan redirects into the VM ports: their peers (the VMs' eth0) need NAPI mode, GRO on; off again for the other rows. */
function vmGro(lab: OverlayLab, on: boolean): void {
  for (const vm of lab.topo.vms) execFileSync('ip', ['netns', 'exec', vm.ns, 'ethtool', '-K', 'eth0', 'gro', on ? 'on' : 'off'], { stdio: 'ignore' });
}

interface Row { setup: string; idle?: Percentiles; b2b?: Percentiles; loaded?: Percentiles; load?: LoadResult; tcpBps?: number; skipped?: string }

const lines: string[] = [];
function say(s = ''): void {
  console.log(s);
  lines.push(s);
}

async function kernelUp(lab: OverlayLab): Promise<KernelVtep[]> {
  const t = lab.topo;
  const kv: KernelVtep[] = [];
  for (const h of [0, 1]) {
    const ports = t.vms.filter((v) => v.hv === h + 1).map((v) => v.hvIf);
    const k = new KernelVtep({ netns: t.hvNs[h], vni: 100, local: t.underlay[h], underlayDev: 'ul0', udpChecksum: false, ports, vxlanName: 'vtx100', bridgeName: 'vtb100' });
    await k.create();
    kv.push(k);
    await k.sync({ floodRemotes: [t.underlay[1 - h]], entries: [] });
  }
  return kv;
}

async function cases(lab: OverlayLab, a: Args, row: Row): Promise<void> {
  const vm = (n: string) => lab.vm(n);
  await ping(vm('vm11').ns, vm('vm21').ip4, 20); // warm-up: ARP, learning, JIT
  await ping(vm('vm12').ns, vm('vm22').ip4, 5);
  row.idle = summarize(await ping(vm('vm11').ns, vm('vm21').ip4, a.count), a.count);
  row.b2b = summarize(await ping(vm('vm11').ns, vm('vm21').ip4, a.b2bCount, 'adaptive'), a.b2bCount);
  const pingSeconds = a.count * 0.01 * 1.5 + 2;
  const load = await startUdpLoad(vm('vm12').ns, vm('vm22').ns, vm('vm22').ip4, a.loadPps, Math.ceil(pingSeconds + 1));
  await new Promise((r) => setTimeout(r, 1000));
  row.loaded = summarize(await ping(vm('vm11').ns, vm('vm21').ip4, a.count), a.count);
  row.load = await load.done;
  row.tcpBps = await tcpThroughput(vm('vm11').ns, vm('vm21').ns, vm('vm21').ip4, a.tcpSeconds);
}

async function runSetup(lab: OverlayLab, a: Args, setup: string): Promise<Row> {
  const row: Row = { setup };
  if (setup === 'kernel') {
    const kv = await kernelUp(lab);
    try { await cases(lab, a, row); } finally { for (const k of kv) await k.destroy(); }
    return row;
  }
  const [plan, b, poll] = setup.split('/');
  if (b !== 'afpacket' && b !== 'afxdp') throw new Error(`--backends: ${b} is not afpacket or afxdp`);
  const backend: 'afpacket' | 'afxdp' = b;
  const busyPollUs = Number(poll.replace(/^poll/, ''));
  if (plan === 'xdp') vmGro(lab, true);
  try {
    // The backend moves both the VM ports and the underlay (backend: X, underlay.transport: X).
    const extra = backend === 'afpacket' ? { afpacket: { busyPollUs } } : undefined;
    await lab.startDaemons({ type: 'vxlan', offload: PLAN[plan], backend, transport: backend, logLevel: 'warn', extra }, 15000, [0, 1]);
  } catch (e) {
    await lab.stopDaemons(2000).catch(() => undefined);
    if (plan === 'xdp') vmGro(lab, false);
    row.skipped = (e as Error).message.split('\n')[0].slice(0, 200);
    return row;
  }
  try { await cases(lab, a, row); } finally { await lab.stopDaemons(); if (plan === 'xdp') vmGro(lab, false); }
  return row;
}

const us = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : Math.round(x).toString());
const ratio = (x: number | undefined, k: number | undefined) => (x === undefined || k === undefined ? '-' : (x / k).toFixed(2));

function table(rows: Row[]): void {
  const k = rows.find((r) => r.setup === 'kernel');
  say('  setup                    case    p50 µs  p90 µs  p99 µs  max µs  lost  p50/kernel  p99/kernel');
  for (const r of rows) {
    if (r.skipped) { say(`  ${r.setup.padEnd(24)} skipped: ${r.skipped}`); continue; }
    for (const [name, p, kp] of [['idle', r.idle, k?.idle], ['b2b', r.b2b, k?.b2b], ['loaded', r.loaded, k?.loaded]] as const) {
      say(`  ${r.setup.padEnd(24)} ${name.padEnd(6)} ${us(p?.p50).padStart(7)} ${us(p?.p90).padStart(7)} ${us(p?.p99).padStart(7)} ${us(p?.max).padStart(7)} ${String(p?.lost ?? '-').padStart(5)}  ${ratio(p?.p50, kp?.p50).padStart(10)}  ${ratio(p?.p99, kp?.p99).padStart(10)}`);
    }
  }
  say('');
  say('  setup                    background load (achieved kpps, loss %)   iperf3 TCP Gbit/s   TCP/kernel');
  for (const r of rows) {
    if (r.skipped) continue;
    const l = r.load ? `${(r.load.pps / 1000).toFixed(1)} kpps, ${r.load.lossPct.toFixed(2)} %` : '-';
    say(`  ${r.setup.padEnd(24)} ${l.padEnd(41)} ${((r.tcpBps ?? 0) / 1e9).toFixed(2).padStart(17)}   ${ratio(r.tcpBps, k?.tcpBps).padStart(10)}`);
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) { console.error('bench:latency needs root (namespaces, AF_PACKET)'); return 1; }
  const a = parseArgs(process.argv.slice(2));
  const setups = ['kernel', ...a.plans.flatMap((p) => a.backends.flatMap((b) => a.polls.map((u) => `${p}/${b}/poll${u}`)))];
  const lab = new OverlayLab(`vlat${process.pid}`);
  const bye = () => lab.closeSync();
  process.once('exit', bye);
  process.once('SIGINT', () => { bye(); process.exit(130); });
  const date = new Date().toISOString();
  say(`vtepd latency benchmark — ${date}, node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, Linux ${os.release()}`);
  say('  topology: src/lab (vtepd demo): vm11,vm12 - hv1 == ul0 veth == hv2 - vm21,vm22; VXLAN VNI 100, IPv4 underlay, VM MTU 1400, offloads off');
  say(`  kernel: vxlan + bridge per hypervisor (flood list = the other hypervisor, learning on)`);
  say(`  vtepd: \`vtepd run\` per hypervisor, hv1 pinned to CPU 0, hv2 to CPU 1 (taskset); rows plan/backend/pollN (N = afpacket.busyPollUs)`);
  say(`  RTT: ping -i 0.01 vm11 -> vm21, ${a.count} echoes after 20 warm-up echoes; nearest-rank percentiles`);
  say(`  b2b: back to back, ping -A vm11 -> vm21, ${a.b2bCount} echoes (the next leaves when the reply is in: no idle gap for any core to go cold in)`);
  say(`  loaded: the same as RTT, while iperf3 sends ${a.loadPps} UDP datagrams/s of 64 B vm12 -> vm22 (through both VTEPs)`);
  say(`  TCP: iperf3 one stream vm11 -> vm21 for ${a.tcpSeconds} s, receiver rate`);
  say(`  rounds: ${a.rounds} (each round runs every setup once; rows are per round)`);
  const rows: Row[] = [];
  try {
    for (let round = 0; round < a.rounds; round++) {
      const mine: Row[] = [];
      for (const s of setups) {
        process.stderr.write(`  [round ${round + 1}] ${s} ...\n`);
        mine.push(await runSetup(lab, a, s));
      }
      say('');
      say(`  round ${round + 1}:`);
      table(mine);
      rows.push(...mine);
    }
  } finally {
    await lab.close();
  }
  mkdirSync(a.out, { recursive: true });
  const stamp = date.slice(0, 10);
  const base = unusedBase(a.out, `bench-latency-${stamp}`, ['.txt', '.json']);
  writeFileSync(`${base}.txt.tmp`, lines.join('\n') + '\n');
  renameSync(`${base}.txt.tmp`, `${base}.txt`);
  writeFileSync(`${base}.json.tmp`, JSON.stringify({ date, args: a, rows }, null, 1) + '\n');
  renameSync(`${base}.json.tmp`, `${base}.json`);
  console.log(`\nraw output: ${base}.txt, ${base}.json`);
  return 0;
}

process.exitCode = await main();

/**
 * `npm run bench:evpn` (root; gobgpd, golang-github-osrg-gobgp-dev, python3-scapy):
 *
 * 1. Type-2 routes installed per second, end to end through BGP. hv2's gobgpd gets N
 *    routes (distinct MACs, one VTEP) through one AddPathStream call from an
 *    injector in hv2's namespace; BGP carries them to hv1's gobgpd; hv1's vtepd
 *    takes them from WatchEvent, decodes, checks and installs each as a static
 *    FDB entry. Rate = N / (time of the N-th install - time of the first), the
 *    times taken by polling vtepd's own `mac-installed` counter every 25 ms.
 *    The same for N withdrawals. vtepd's CPU time over the window from /proc.
 * 2. MAC learned on one hypervisor → FDB entry on the others (p50/p99). Three
 *    hypervisors; a scapy sender in vm1's namespace sends COUNT frames, each
 *    from a new source MAC, GAP ms apart, to vm1's own MAC (learned, then
 *    dropped as same-port: no flooding, so remote entries can only come from
 *    EVPN). Latency = when hv2's / hv3's vtepd accepted and installed the route
 *    (its own timestamp, `evpn show` acceptedAt) - when the frame was sent;
 *    same host clock. Includes hv1's learn, the event drain, AddPath, two
 *    gobgpd hops (iBGP), WatchEvent and the install.
 * Env: VTEPD_EVPN_ROUTES (default 20000), VTEPD_EVPN_LEARN (default 300), VTEPD_EVPN_GAP_MS (default 10).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EvpnLab, evpnLabSkip, sleep, type Hv } from '../../src/lab/evpn-lab.js';
import type { EvpnSnapshot } from '../../src/evpn/snapshot.js';

// 20k by default: gobgpd's ingestion slows as its RIB grows (a 100k run here fell to ~100 paths/s, gobgpd at 40 % CPU each,
// vtepd at 6 %); vtepd's own rate at 100k MACs is bench/evpn-install.bench.ts.
const ROUTES = Number(process.env.VTEPD_EVPN_ROUTES ?? 20_000);
const LEARN = Number(process.env.VTEPD_EVPN_LEARN ?? 300);
const GAP_MS = Number(process.env.VTEPD_EVPN_GAP_MS ?? 10);
const INJECT = fileURLToPath(new URL('./inject.js', import.meta.url));
const GEN = fileURLToPath(new URL('../../../bench/evpn/learn-gen.py', import.meta.url));

function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (e, out, err) => (e ? reject(new Error(`${cmd}: ${err || e.message}`)) : resolve(out))));
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, USER_HZ 100
}

async function installed(lab: EvpnLab, h: Hv): Promise<{ installed: number; removed: number }> {
  const s = (await lab.request(h, 'evpn.show', { routes: false, peers: false })) as EvpnSnapshot;
  return { installed: s.counters['mac-installed'], removed: s.counters['mac-removed'] };
}

async function measure(lab: EvpnLab, hv1: Hv, hv2: Hv, key: 'installed' | 'removed', mode: string): Promise<Record<string, number>> {
  const base = (await installed(lab, hv1))[key];
  const pid = hv1.vtepd!.child.pid!;
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  const inj = run('ip', ['netns', 'exec', hv2.ns, process.execPath, INJECT, String(ROUTES), hv2.ip, '100', mode]);
  let first = 0;
  let last = 0;
  for (;;) {
    const n = (await installed(lab, hv1))[key] - base;
    const now = Date.now();
    if (n > 0 && first === 0) first = now;
    if (n >= ROUTES) { last = now; break; }
    if (now - t0 > 600_000) throw new Error(`only ${n} of ${ROUTES} ${key} after 600 s`);
    await sleep(100);
  }
  const cpu = cpuSeconds(pid) - cpu0;
  const injected = JSON.parse((await inj).trim()) as { seconds: number };
  return { routes: ROUTES, perSecond: Math.round(ROUTES / ((last - first) / 1000)), firstToLastS: (last - first) / 1000, endToEndS: (last - t0) / 1000, injectS: injected.seconds, vtepdCpuS: cpu, cpuUsPerRoute: (cpu * 1e6) / ROUTES };
}

async function installRate(): Promise<void> {
  const lab = new EvpnLab(`evbi${process.pid % 10000}`, 2);
  process.once('exit', () => lab.closeSync());
  try {
    const [hv1, hv2] = lab.hvs;
    for (const h of lab.hvs) lab.startGobgp(h);
    const cfg = lab.vtepdConfig(hv1);
    cfg.fdb = { maxEntries: 4 * ROUTES };
    await lab.startVtepd(hv1, {}, cfg);
    if (await lab.until(async () => ((await lab.request(hv1, 'evpn.show', { routes: false })) as EvpnSnapshot).peers.some((p) => p.state === 'established'), 30000) < 0) throw new Error('BGP session did not come up');
    const add = await measure(lab, hv1, hv2, 'installed', 'add');
    const fdb = (await lab.fdb(hv1)).filter((e) => e.remote === hv2.ip).length;
    const del = await measure(lab, hv1, hv2, 'removed', 'withdraw');
    console.log(`\n1. type-2 routes into the data plane (${ROUTES} MACs behind one VTEP, iBGP gobgpd -> gobgpd -> WatchEvent -> vtepd FDB)`);
    console.log(`   install:  ${add.perSecond} routes/s (first to last install ${add.firstToLastS.toFixed(2)} s; injection into hv2's gobgpd ${add.injectS.toFixed(2)} s; end to end ${add.endToEndS.toFixed(2)} s)`);
    console.log(`             vtepd CPU ${add.vtepdCpuS.toFixed(2)} s = ${add.cpuUsPerRoute.toFixed(1)} us per route (gRPC receive of small watch events, decode, checks, FDB install,`);
    console.log(`             plus vtepd's timers and this benchmark's polling over the window); FDB entries behind hv2 after it: ${fdb}`);
    console.log(`   withdraw: ${del.perSecond} routes/s (first to last ${del.firstToLastS.toFixed(2)} s; end to end ${del.endToEndS.toFixed(2)} s); vtepd CPU ${del.cpuUsPerRoute.toFixed(1)} us per route`);
    console.log(JSON.stringify({ bench: 'evpn-install', add, del, fdbEntries: fdb }));
  } finally {
    await lab.close();
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function learnLatency(): Promise<void> {
  const lab = new EvpnLab(`evbl${process.pid % 10000}`, 3);
  process.once('exit', () => lab.closeSync());
  try {
    for (const h of lab.hvs) lab.startGobgp(h);
    for (const h of lab.hvs) await lab.startVtepd(h);
    const show = (h: Hv): Promise<EvpnSnapshot> => lab.request(h, 'evpn.show') as Promise<EvpnSnapshot>;
    if (await lab.until(async () => { for (const h of lab.hvs) if ((await show(h)).networks[0].remotes.length !== 2) return false; return true; }, 30000) < 0) throw new Error('mesh did not come up');
    const vm1 = lab.vm('vm1');
    const sent = JSON.parse(await run('ip', ['netns', 'exec', vm1.ns, '/usr/bin/python3', GEN, 'eth0', vm1.mac, String(LEARN), String(GAP_MS)])) as [string, number][];
    const sentAt = new Map(sent);
    await lab.until(async () => (await show(lab.hv(3))).counts.routesIn >= LEARN, 10000);
    const lat: number[] = [];
    let missing = 0;
    for (const h of [lab.hv(2), lab.hv(3)]) {
      const s = await show(h);
      const got = new Map((s.routesIn ?? []).filter((r) => r.type === 2 && r.mac !== undefined && sentAt.has(r.mac)).map((r) => [r.mac!, r.acceptedAt]));
      for (const [mac, t] of sentAt) {
        const a = got.get(mac);
        if (a === undefined) missing++;
        else lat.push(a - t);
      }
    }
    console.log(`\n2. MAC learned on hv1 -> FDB entry on hv2 and hv3 (${LEARN} new MACs, one every ${GAP_MS} ms, ${lat.length} samples, ${missing} missing)`);
    console.log(`   p50 ${pct(lat, 50).toFixed(1)} ms, p90 ${pct(lat, 90).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms, min ${Math.min(...lat).toFixed(1)} ms`);
    console.log(JSON.stringify({ bench: 'evpn-learn-latency', samples: lat.length, missing, p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: Math.max(...lat) }));
  } finally {
    await lab.close();
  }
}

// Ctrl-C / SIGTERM: exit through 'exit', whose handlers remove the namespaces and processes.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
const skip = evpnLabSkip();
if (skip) {
  console.log(`bench:evpn skipped: ${skip}`);
} else {
  console.log('bench:evpn: method in bench/evpn/run.ts; host:', readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?', `, node ${process.version}, gobgpd 3.10`);
  await installRate();
  await learnLatency();
}

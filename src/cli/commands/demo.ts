/**
 * `vtepd demo` (root): a small overlay in network namespaces, end to end.
 * Two "hypervisors" joined by an underlay veth, two "VMs" on each, one vtepd
 * per hypervisor; for each tunnel type: ping VM to VM across the overlay (and
 * locally), print both FDBs and the counters from the control API, stop the
 * daemons with SIGTERM. Everything is torn down at the end, on failure and on
 * Ctrl-C / SIGTERM. Nothing is configured outside the namespaces it creates.
 */
import { summary } from './catalog.js';
import { fdbEntryCli, formatFdbEntry } from '../../control/fdb-entry.js';
import type { FdbEntryJson } from '../../control/fdb-entry.js';
import { UsageError } from '../../config/usage-error.js';
import type { Command } from '../commander.js';
import { callDaemon } from '../../control/control-client.js';
import type { StatsSnapshot } from '../../control/stats.js';
import { OverlayLab } from '../../lab/harness.js';

const TYPES = ['vxlan', 'geneve', 'nvgre'] as const;
type Type = (typeof TYPES)[number];
const PAIRS: [string, string, string][] = [
  ['vm11', 'vm21', 'across the overlay'],
  ['vm12', 'vm22', 'across the overlay'],
  ['vm22', 'vm11', 'across the overlay'],
  ['vm11', 'vm12', 'local, same hypervisor'],
];

interface DemoOptions { types: string; ipv6?: boolean; count: string; json?: boolean; pretty?: boolean }

export function register(program: Command): void {
  program.command('demo')
    .description(summary('demo'))
    .option('--types <list>', 'tunnel types to try, comma-separated', TYPES.join(','))
    .option('--ipv6', 'IPv6 underlay (2001:db8::/64) instead of IPv4 (192.0.2.0/24)')
    .option('--count <n>', 'echo requests per VM pair', '3')
    .option('-j, --json', 'the results as one JSON document on stdout (the running commentary goes to stderr)')
    .option('-p, --pretty', 'indent the JSON')
    .action(async (o: DemoOptions) => {
      const types = o.types.split(',').map((s) => s.trim()).filter(Boolean);
      for (const t of types) if (!(TYPES as readonly string[]).includes(t)) throw new UsageError(`--types: unknown tunnel type "${t}" (vxlan, geneve, nvgre)`);
      const count = Number(o.count);
      if (!Number.isInteger(count) || count < 1 || count > 100) throw new UsageError('--count must be 1..100');
      if (process.getuid?.() !== 0) throw new UsageError('vtepd demo needs root: it creates network namespaces and runs vtepd in them (try: sudo vtepd demo)', 77);
      process.exitCode = await demo(types as Type[], !!o.ipv6, count, o.json ? (o.pretty ? 2 : 0) : null);
    });
}

interface DemoRun { type: Type; pings: { from: string; to: string; what: string; sent: number; received: number; rttMs: number[] }[]; fdb: Record<string, unknown[]> }

/** `json`: null for text, else the JSON indent (0 compact). */
async function demo(types: Type[], v6: boolean, count: number, json: number | null): Promise<number> {
  const t0 = Date.now();
  const say = (s = ''): void => { (json === null ? process.stdout : process.stderr).write(s + '\n'); };
  const runs: DemoRun[] = [];
  const lab = new OverlayLab(`vtepd-demo-${process.pid}`, { v6 });
  // Ctrl-C / SIGTERM: tear down, then exit 130 / 143.
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nvtepd demo: ${sig}, tearing down...\n`);
    void lab.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  const onExit = (): void => lab.closeSync();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  let failures = 0;
  try {
    const topo = lab.topo;
    say(`namespaces: ${topo.namespaces.join(' ')}`);
    say(`underlay: hv1 ul0 ${topo.underlay[0]}  <->  hv2 ul0 ${topo.underlay[1]}`);
    for (const vm of topo.vms) say(`  ${vm.name} on hv${vm.hv}: ${vm.mac} ${vm.ip4} (port ${vm.hvIf}, afpacket)`);
    for (const [k, type] of types.entries()) {
      if (interrupted) break;
      say();
      say(`=== ${type.toUpperCase()} (VNI 100) ===`);
      const run: DemoRun = { type, pings: [], fdb: {} };
      runs.push(run);
      const t1 = Date.now();
      if (k === 0) {
        await lab.startDaemons({ type });
        say(`two vtepd daemons up in ${Date.now() - t1} ms`);
      } else {
        await lab.reconfigure({ type });
        say(`configs rewritten for ${type}, daemons reloaded with SIGHUP in ${Date.now() - t1} ms (ports stayed open)`);
      }
      for (const [a, b, what] of PAIRS) {
        const r = await lab.ping(a, b, count);
        const rtt = r.rttMs.length ? `rtt min/max ${Math.min(...r.rttMs).toFixed(1)}/${Math.max(...r.rttMs).toFixed(1)} ms` : '';
        const ok = r.received === r.sent;
        if (!ok) failures++;
        run.pings.push({ from: a, to: b, what, sent: r.sent, received: r.received, rttMs: r.rttMs });
        say(`  ping ${a} -> ${b} (${what}): ${r.received}/${r.sent} replies ${rtt} ${ok ? 'OK' : 'FAILED'}`);
      }
      for (const d of lab.daemons) {
        const fdb = (await callDaemon(d.socket, 'fdb.show')) as FdbEntryJson[];
        say(`  hv${d.hv} fdb:`);
        for (const e of fdb) say(`    ${formatFdbEntry(e)}`);
        run.fdb[`hv${d.hv}`] = fdb.map(fdbEntryCli);
      }
      for (const d of lab.daemons) {
        const s = (await callDaemon(d.socket, 'stats')) as StatsSnapshot;
        const ports = s.ports.map((p) => `${p.name} rx ${p.rxPackets} tx ${p.txPackets}${p.drops + p.kernelDrops ? ` drop ${p.drops + p.kernelDrops}` : ''}`).join(', ');
        const n = s.networks[0];
        say(`  hv${d.hv} counters since start: ${ports}; vni ${n.vni}: flooded ${n.flooded} unicast ${n.unicast} learned ${n.learned}`);
        const drops = Object.entries(s.drops).map(([key, v]) => `${key} ${v}`).join(', ');
        if (drops) say(`    drops: ${drops}`);
      }
    }
    if (lab.daemons.length > 0) {
      say();
      const stopped = await lab.stopDaemons();
      for (const s of stopped) {
        const f = s.final?.counters;
        const sum = f ? f.ports.map((p) => `${p.name} ${p.rxPackets}/${p.txPackets}`).join(', ') : 'no final counters logged';
        say(`hv${s.hv} vtepd stopped by SIGTERM: exit ${s.code}; final counters rx/tx ${sum}`);
        if (s.code !== 0 || !f) failures++;
      }
    }
  } catch (err) {
    failures++;
    process.stderr.write(`vtepd demo: ${(err as Error).message}\n`);
  } finally {
    await lab.close();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  say();
  say(`namespaces removed; ${failures === 0 ? 'all checks passed' : `${failures} check(s) FAILED`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (json !== null) process.stdout.write(JSON.stringify({ ok: failures === 0, failures, seconds: (Date.now() - t0) / 1000, underlay: v6 ? 'ipv6' : 'ipv4', runs }, null, json || undefined) + '\n');
  return failures === 0 ? 0 : 1;
}

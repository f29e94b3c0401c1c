/**
 * The plans `vtepd cost` can run, each as a data path on the two-hypervisor
 * namespace topology (src/lab/topology.ts):
 *
 *   [gen = vm11] ─veth─ [hv1: encap + learning] ═ul0═ [hv2: decap + learning] ─veth─ [sink = vm21]
 *
 * `host`: one `vtepd run` daemon per hypervisor (TypeScript VXLAN fast path,
 * AF_PACKET ports). `native`: the same daemons with encap/decap and
 * forwarding/learning placed in the addon's C (`offload:` in their config).
 * `kernel`: per hypervisor a KernelVtep (kernel vxlan device + bridge, learning
 * on, the other hypervisor as flood remote) and no daemon: vtepd only programs
 * it. `xdp`: the daemons with the xdp plan (vtepd's eBPF programs on ul0 and
 * the VM ports, the userspace path behind them); the VMs' eth0 get GRO on, the
 * NAPI mode that redirects into the VM ports need. `wire`: no VTEP at all, the
 * generator's eth0 and the sink's joined by one veth: the traffic's own cost
 * (send and receive), which the report takes off the other plans' figures.
 * `nic` is refused with the host probe's reason, never simulated.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseTaskStat, type TaskCpuTimes } from './proc-stat.js';
import { OverlayLab } from '../lab/harness.js';
import { setUpVmEth0 } from '../lab/topology.js';
import { WIRE_PLAN } from './report.js';
import { KernelVtep } from '../offload/kernel-vtep.js';
import { probeHost, type HostCapabilities } from '../offload/host-probe.js';
import { availability } from '../offload/availability.js';
import type { Placement } from '../offload/plan-schema.js';
import { controlRequest } from '../control/control-client.js';
import type { StatsSnapshot } from '../control/stats.js';

export const COST_PLANS = ['host', 'native', 'kernel', 'xdp', 'wire', 'nic'] as const;
export type CostPlan = (typeof COST_PLANS)[number];
export const VNI = 100;

/** The daemons' offload config in the native plan (checksums: the native encap computes what VXLAN over IPv4 needs). */
export const NATIVE_PLAN = { 'encap-decap': 'native', 'forwarding-learning': 'native' } as const;
export const XDP_PLAN = { 'encap-decap': 'xdp', 'forwarding-learning': 'xdp' } as const;

/** The functions every plan must place: VXLAN encap/decap and L2 forwarding/learning. */
const NEEDED = [['encap-decap', 'vxlan'], ['forwarding-learning', 'vxlan']] as const;

/** Plans that need nothing of the host beyond namespaces and AF_PACKET: no probe decides them. */
const needsNoProbe = (plan: CostPlan): boolean => plan === 'host' || plan === WIRE_PLAN;

/** Why `plan` cannot run on this host, or null when it can. */
export function planRefusal(caps: HostCapabilities, plan: CostPlan): string | null {
  if (needsNoProbe(plan)) return null;
  const why = NEEDED.map(([fn, t]) => ({ fn, a: availability(caps, fn, plan as Placement, t) })).filter((x) => !x.a.ok);
  if (why.length === 0) return plan === 'nic' ? `plan ${plan} is available on this host but vtepd cost cannot drive it yet` : null;
  return `plan ${plan} is unavailable on this host: ${why.map((x) => `${x.fn}: ${x.a.reason}`).join('; ')}`;
}

/** Parse `--plans` and refuse unknown or unavailable plans with every reason at once. */
export async function checkPlans(list: string[], probe: () => Promise<HostCapabilities> = () => probeHost()): Promise<CostPlan[]> {
  const unknown = list.filter((p) => !(COST_PLANS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new RangeError(`unknown plan${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (plans: ${COST_PLANS.join(', ')})`);
  const plans = [...new Set(list)] as CostPlan[];
  if (plans.length === 0) throw new RangeError(`no plan given (plans: ${COST_PLANS.join(', ')})`);
  if (plans.every(needsNoProbe)) return plans;
  const caps = await probe();
  const refused = plans.map((p) => planRefusal(caps, p)).filter((r): r is string => r !== null);
  if (refused.length > 0) throw new RangeError(refused.join('\n'));
  return plans;
}

/** One daemon's stage counters: the scaled estimate, frames, batches, and the timed part behind the estimate (null from a daemon without it). */
export interface StageTotal { seconds: number; frames: number; batches: number; sampledSeconds: number | null; sampledFrames: number | null }

export interface PlanEnv {
  lab: OverlayLab;
  /** Notes for the report (what ran, what was watched). */
  notes(): Promise<string[]>;
  /** CPU of vtepd's own data path processes (the daemons), or null when none runs. */
  processCpu(): TaskCpuTimes | null;
  /** PIDs of the data path's processes (the daemons; none for kernel). */
  pids(): number[];
  /** Per daemon and pipeline stage, keyed `hv<N>:<stage>`: its counters so far (a window's estimate is per daemon, then summed); null when no daemon runs. */
  stageTotals(): Promise<Map<string, StageTotal> | null>;
  /** Stop the plan's data path (the namespaces are removed by lab.close()). */
  stop(): Promise<void>;
}

/** What the programs did (the XDP work runs in softirq: in the generator's system time or ksoftirqd, as the kernel plan's). */
async function xdpNote(lab: OverlayLab): Promise<string> {
  const parts: string[] = [];
  for (const d of lab.daemons) {
    const r = await controlRequest(d.socket, 'stats', {}, 5000);
    const x = r.ok ? (r.result as StatsSnapshot).xdp ?? {} : {};
    parts.push(`hv${d.hv} encap-redirect ${x['encap-redirect'] ?? 0}, decap-redirect ${x['decap-redirect'] ?? 0}, passed up ${Object.entries(x).filter(([k]) => k.startsWith('pass-')).reduce((a, [, v]) => a + v, 0)}`);
  }
  return `xdp programs since the plan started: ${parts.join('; ')}`;
}

/**
 * The wire: vm11's and vm21's eth0 replaced by the two ends of one veth, set
 * up as the topology sets up every VM's eth0, so the generator's frames land in
 * the sink's receive path directly. No process of the plan runs.
 */
function wire(lab: OverlayLab): PlanEnv {
  const [gen, sink] = [lab.vm('vm11'), lab.vm('vm21')];
  const ip = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const vm of [gen, sink]) ip(['-n', vm.ns, 'link', 'del', 'eth0']);
  ip(['-n', gen.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', sink.ns]);
  for (const vm of [gen, sink]) setUpVmEth0(vm);
  return {
    lab,
    notes: async () => ['wire: no VTEP; the generator\'s eth0 and the sink\'s joined by one veth (the traffic\'s own send and receive, which every plan pays)'],
    processCpu: () => null,
    pids: () => [],
    stageTotals: async () => null,
    stop: async () => undefined,
  };
}

function sysctlOffIpv6(ns: string): void {
  // The bridge/vxlan devices would otherwise send router solicitations and MLD reports to the sink.
  execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { stdio: 'ignore' });
}

/** Build the topology and start `plan`'s data path on it. On failure everything is torn down. */
export async function startPlan(plan: CostPlan, tag: string, register: (lab: OverlayLab) => void): Promise<PlanEnv> {
  const lab = new OverlayLab(tag);
  register(lab);
  try {
    for (const ns of lab.topo.hvNs) sysctlOffIpv6(ns);
    if (plan === 'host' || plan === 'native' || plan === 'xdp') {
      if (plan === 'xdp') for (const vm of lab.topo.vms) execFileSync('ip', ['netns', 'exec', vm.ns, 'ethtool', '-K', 'eth0', 'gro', 'on'], { stdio: 'ignore' });
      await lab.startDaemons({ type: 'vxlan', vni: VNI, logLevel: 'warn', offload: plan === 'native' ? NATIVE_PLAN : plan === 'xdp' ? XDP_PLAN : undefined });
      const where = plan === 'native' ? 'C in the addon (offload encap-decap and forwarding-learning: native)'
        : plan === 'xdp' ? 'the xdp plan (vtepd_xdp on ul0 and the VM ports, the C stages behind them as the slow path; the VMs\' eth0 with GRO on)' : 'TypeScript';
      return {
        lab,
        notes: async () => [
          `2 vtepd run daemons (hv1 encap + learning, hv2 decap + learning) in ${where}, AF_PACKET ports and underlay`,
          ...(plan === 'xdp' ? [await xdpNote(lab)] : []),
        ],
        processCpu: () => lab.daemons.map((d) => parseTaskStat(readFileSync(`/proc/${d.child.pid}/stat`, 'utf8')))
          .reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 }),
        pids: () => lab.daemons.map((d) => d.child.pid!),
        // xdp: the fast path runs in the programs, not in the stages (their timers would show the slow path's few frames as zero).
        stageTotals: async () => {
          if (plan === 'xdp') return null;
          const all = new Map<string, StageTotal>();
          for (const d of lab.daemons) {
            const r = await controlRequest(d.socket, 'stats', {}, 5000);
            if (!r.ok) throw new Error(`daemon hv${d.hv} stats: ${r.error}`);
            for (const st of (r.result as StatsSnapshot).stages) {
              all.set(`hv${d.hv}:${st.stage}`, {
                seconds: st.seconds, frames: st.packets, batches: st.batches, sampledSeconds: st.sampledSeconds ?? null, sampledFrames: st.sampledPackets ?? null,
              });
            }
          }
          return all;
        },
        stop: async () => { await lab.stopDaemons(); },
      };
    }
    if (plan === WIRE_PLAN) return wire(lab);
    if (plan !== 'kernel') throw new Error(`plan ${plan} cannot be driven`);
    const vteps = [0, 1].map((h) => new KernelVtep({
      netns: lab.topo.hvNs[h], vni: VNI, local: lab.topo.underlay[h], underlayDev: 'ul0', learning: true,
      ports: lab.topo.vms.filter((v) => v.hv === h + 1).map((v) => v.hvIf),
    }));
    for (const [h, v] of vteps.entries()) {
      await v.create();
      await v.sync({ floodRemotes: [lab.topo.underlay[1 - h]], entries: [] });
    }
    const before = await Promise.all(vteps.map((v) => v.counters()));
    return {
      lab,
      notes: async () => {
        const after = await Promise.all(vteps.map((v) => v.counters()));
        return [
          'kernel vxlan + bridge per hypervisor (KernelVtep, learning on, flood list = the other hypervisor); no daemon in the path',
          `kernel vxlan device counters since the plan started: hv1 tx ${after[0].txPackets - before[0].txPackets} (encap), hv2 rx ${after[1].rxPackets - before[1].rxPackets} (decap)`,
        ];
      },
      processCpu: () => null,
      pids: () => [],
      stageTotals: async () => null,
      stop: async () => { for (const v of vteps) await v.destroy().catch(() => undefined); },
    };
  } catch (e) {
    await lab.close();
    throw e;
  }
}

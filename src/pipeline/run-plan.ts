/**
 * Which offload placements `vtepd run` can carry out itself, and the stage
 * implementation each one selects. Two kinds of data path:
 *  - in vtepd: encap/decap and forwarding/learning in TypeScript (`host`) or
 *    in the addon's C (`native`); the outer checksums can also be handed to
 *    the kernel through the AF_PACKET underlay's virtio-net header;
 *  - in the kernel: encap-decap and forwarding-learning both `kernel`; vtepd
 *    builds a vxlan device + bridge per network (src/daemon/kernel-backend.ts) and only
 *    programs and watches them.
 * NIC data paths and mixes of the two are refused here with what to use
 * instead: nothing is quietly done in software.
 */
import { PLAN_RULES } from '../offload/plan.js';
import { availability, XDP_TUNNELS } from '../offload/availability.js';
import { probeNative, type Avail, type HostCapabilities, type KernelLinkType } from '../offload/host-probe.js';
import type { OffloadPlan } from '../offload/plan-schema.js';
import type { VtepdConfig } from '../config/config-schema.js';

/** The plan puts the whole data path in the kernel (vtepd run runs the kernel backend). */
export function kernelDataPath(p: OffloadPlan): boolean {
  return p['encap-decap'] === 'kernel' && p['forwarding-learning'] === 'kernel';
}

/** The plan puts the fast path in vtepd's XDP programs, with vtepd's stages as the slow path (xdp backend). */
export function xdpDataPath(p: OffloadPlan): boolean {
  return p['encap-decap'] === 'xdp' && p['forwarding-learning'] === 'xdp';
}

/** Limits of the xdp programs' maps (native-bindings/bpf/vtepd_xdp.h). */
export const XDP_LIMITS = { remotes: 256, vnis: 4096, ports: 63, geneveOptionBytes: 252 } as const;

/** Config-time problems of cfg.offload for `vtepd run` (no host probing). */
export function runPlanProblems(cfg: VtepdConfig): string[] {
  const p = cfg.offload;
  const out: string[] = [];
  for (const r of PLAN_RULES) if (r.test(p)) out.push(`offload: ${r.message(p)}`);
  for (const fn of ['encap-decap', 'forwarding-learning'] as const) {
    if (p[fn] === 'nic') {
      out.push(`offload.${fn}: nic puts the data path in the NIC (tc flower flow offload), which \`vtepd run\` does not program; ` +
        'use kernel for both encap-decap and forwarding-learning (a kernel vxlan device + bridge that vtepd builds and watches), or host/native');
    }
  }
  if (kernelDataPath(p)) return [...out, ...kernelRunProblems(cfg)];
  if (xdpDataPath(p)) return [...out, ...xdpRunProblems(cfg)];
  // A mix of kernel and vtepd placements is explained by PLAN_RULES; the checks below are for vtepd's own pipeline.
  const elsewhere = ['kernel', 'nic', 'xdp'];
  if (elsewhere.includes(p['encap-decap']) || elsewhere.includes(p['forwarding-learning'])) return out;
  if (p.segmentation !== 'host') {
    out.push(`offload.segmentation: ${p.segmentation}: vtepd's ports never take GSO super-frames (TAP offloads stay off), ` +
      'so there is nothing to segment; frames over the underlay MTU are dropped as mtu-exceeded. Use host');
  }
  if (p.checksum === 'nic') out.push('offload.checksum: nic: the NIC computes checksums only behind the kernel datapath; use host, native or kernel');
  if (p.checksum === 'kernel' && cfg.underlay.transport !== 'afpacket') {
    out.push(`offload.checksum: kernel needs underlay.transport afpacket (the virtio-net header rides on the AF_PACKET socket), not ${cfg.underlay.transport}`);
  }
  return out;
}

/**
 * Config-time problems of the xdp data path: its programs attach to the
 * underlay interface and to each port's interface, and take VXLAN, GENEVE (one
 * UDP port each) and NVGRE over IPv4 or IPv6 with the outer UDP checksum the
 * slow path would write; everything else would be done by the slow path only,
 * so it is refused here instead of quietly.
 */
function xdpRunProblems(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  const u = cfg.underlay;
  if (u.transport === 'afxdp') out.push('underlay.transport: afxdp: the AF_XDP socket needs its own XDP program where the xdp plan attaches vtepd_xdp_underlay; use afpacket or udp');
  if (u.transport === 'raw') out.push('underlay.transport: raw: the xdp plan redirects encapsulated frames to underlay.interface at layer 2; use afpacket or udp');
  for (const type of ['vxlan', 'geneve'] as const) {
    const udpPorts = new Set(cfg.networks.filter((n) => n.type === type).map((n) => n.udpPort));
    if (udpPorts.size > 1) out.push(`networks: the xdp programs take ${type} on one UDP port; these ${type} networks use ${[...udpPorts].join(', ')}`);
  }
  cfg.networks.forEach((n, i) => {
    if (!XDP_TUNNELS.includes(n.type)) out.push(`networks[${i}] (vni ${n.vni}): type ${n.type}: the xdp programs handle ${XDP_TUNNELS.join(', ')} only; run ${n.type} networks with host or native`);
    const opts = n.geneveOptions.reduce((a, o) => a + 4 + o.data.length / 2, 0);
    if (n.type === 'geneve' && opts > XDP_LIMITS.geneveOptionBytes) {
      out.push(`networks[${i}] (vni ${n.vni}).geneveOptions: ${opts} bytes of options, the xdp programs carry at most ${XDP_LIMITS.geneveOptionBytes}`);
    }
  });
  if (cfg.networks.length > XDP_LIMITS.vnis) out.push(`networks: ${cfg.networks.length} networks, the xdp maps hold ${XDP_LIMITS.vnis}`);
  const remotes = new Set(cfg.networks.flatMap((n) => n.remotes));
  if (remotes.size > XDP_LIMITS.remotes) out.push(`networks: ${remotes.size} remote VTEPs, the xdp maps hold ${XDP_LIMITS.remotes}`);
  const used = new Set(cfg.networks.flatMap((n) => n.ports));
  cfg.ports.forEach((port, i) => {
    if (!used.has(port.name)) return;
    const at = `ports[${i}] (${port.name})`;
    if (port.backend !== 'afpacket' && port.backend !== 'tap') {
      out.push(`${at}: backend ${port.backend}: the xdp plan attaches vtepd_xdp_port to the port's interface and takes the slow path through an AF_PACKET socket; use backend afpacket or tap`);
    }
    if (port.vlan !== undefined) out.push(`${at}.vlan: the xdp programs take untagged frames only (a port is one interface in one network); drop vlan or use host/native`);
  });
  if (used.size > XDP_LIMITS.ports) out.push(`ports: ${used.size} ports, the xdp devmap holds ${XDP_LIMITS.ports}`);
  return out;
}

/**
 * Config-time problems of the kernel data path: the vxlan device needs a real
 * underlay interface, and the bridge takes whole interfaces as ports (no
 * capture sockets, files or VLAN members in between).
 */
function kernelRunProblems(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  if (cfg.underlay.transport !== 'afpacket') {
    out.push(`underlay.transport: ${cfg.underlay.transport}: the kernel data path (offload encap-decap: kernel) binds its vxlan device to ` +
      'underlay.interface and sends from underlay.address; set transport afpacket (a real underlay interface)');
  }
  const used = new Set(cfg.networks.flatMap((n) => n.ports));
  cfg.ports.forEach((port, i) => {
    if (!used.has(port.name)) return;
    const at = `ports[${i}] (${port.name})`;
    if (port.backend === 'pcap' || port.backend === 'cap') {
      out.push(`${at}: backend ${port.backend} cannot be a port of the kernel bridge (offload encap-decap: kernel enslaves the interface itself); ` +
        'use backend afpacket (an existing interface) or tap');
    }
    if (port.vlan !== undefined) {
      out.push(`${at}.vlan: VLAN members are not bridged in kernel mode (the whole interface joins the network's bridge); drop vlan or use host/native`);
    }
  });
  return out;
}

/**
 * Host problems of the kernel data path, from the probed kernel link types:
 * every network needs a kernel device for its tunnel type and a bridge, and
 * KernelVtep builds vxlan devices only.
 */
export function kernelHostProblems(cfg: VtepdConfig, links: Record<KernelLinkType, Avail>): string[] {
  const caps = { kernel: links } as unknown as HostCapabilities;
  const out: string[] = [];
  const br = availability(caps, 'forwarding-learning', 'kernel');
  if (!br.ok) out.push(`offload.forwarding-learning: kernel is not available on this host: ${br.reason}`);
  cfg.networks.forEach((n, i) => {
    const at = `networks[${i}] (vni ${n.vni})`;
    const a = availability(caps, 'encap-decap', 'kernel', n.type);
    if (!a.ok) out.push(`${at}: offload.encap-decap: kernel for ${n.type} is not available on this host: ${a.reason}`);
    else if (n.type !== 'vxlan') out.push(`${at}: type ${n.type}: vtepd's kernel mode builds vxlan devices only; run ${n.type} networks with host or native`);
  });
  return out;
}

/** Problems of cfg.offload on this host: the native addon must export what `native` placements call. */
export function runPlanHostProblems(cfg: VtepdConfig, native: HostCapabilities['native'] = probeNative()): string[] {
  const p = cfg.offload;
  if (!Object.values(p).includes('native')) return [];
  const caps = { native } as HostCapabilities;
  const out: string[] = [];
  const types = [...new Set(cfg.networks.map((n) => n.type))];
  if (p['encap-decap'] === 'native') {
    for (const t of types) {
      const a = availability(caps, 'encap-decap', 'native', t);
      if (!a.ok) out.push(`offload.encap-decap: native for ${t} is not available: ${a.reason}`);
    }
  }
  for (const fn of ['forwarding-learning', 'checksum'] as const) {
    if (p[fn] !== 'native') continue;
    const a = availability(caps, fn, 'native');
    if (!a.ok) out.push(`offload.${fn}: native is not available: ${a.reason}`);
  }
  return out;
}

/** One line naming the placements, for logs and `vtepd stats`. */
export function describePlan(p: OffloadPlan): string {
  return Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * A two-hypervisor overlay in network namespaces, for `vtepd demo` and the
 * integration tests. Everything (addresses, veths) lives inside namespaces
 * named after a unique tag; nothing is configured in the caller's namespace.
 *
 *   [vm11]──vm11┐               ┌vm21──[vm21]
 *               [hv1]──ul0══ul0──[hv2]
 *   [vm12]──vm12┘  192.0.2.1     192.0.2.2  └vm22──[vm22]
 *
 * VMs: eth0 with a fixed MAC (02:00:00:00:0H:0V) and 10.10.0.HV/24; IPv6 is off inside
 * the VMs so the overlay is quiet (no router solicitations or MLD reports) and
 * counters can be compared exactly with what a test sent.
 * VM-facing veths have checksum/segmentation offloads off: frames that cross
 * vtepd must be complete on the wire (veth would otherwise pass partial
 * checksums and 64 KB GSO frames to the AF_PACKET socket).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Vm { name: string; ns: string; hv: 1 | 2; hvIf: string; mac: string; ip4: string }
export interface Topology {
  tag: string;
  hvNs: [string, string];
  vms: Vm[];
  v6: boolean;
  /** Underlay addresses of hv1 and hv2. */
  underlay: [string, string];
  namespaces: string[];
}

export const VM_MTU = 1400;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}
/** Best effort (offload knobs a kernel may not have). */
function tryRun(cmd: string, args: string[]): void {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); } catch { /* feature absent: fine */ }
}

/** A VM's eth0 once it exists in the VM's namespace: its MAC, MTU, address, offloads off, up. */
export function setUpVmEth0(vm: Vm): void {
  ip(['-n', vm.ns, 'link', 'set', 'eth0', 'address', vm.mac, 'mtu', String(VM_MTU)]);
  ip(['-n', vm.ns, 'addr', 'add', `${vm.ip4}/24`, 'dev', 'eth0']);
  tryRun('ip', ['netns', 'exec', vm.ns, 'ethtool', '-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  ip(['-n', vm.ns, 'link', 'set', 'eth0', 'up']);
}

export function createTopology(tag: string, opts: { v6?: boolean } = {}): Topology {
  const v6 = opts.v6 ?? false;
  const hvNs: [string, string] = [`${tag}-hv1`, `${tag}-hv2`];
  const underlay: [string, string] = v6 ? ['2001:db8::1', '2001:db8::2'] : ['192.0.2.1', '192.0.2.2'];
  const vms: Vm[] = [];
  for (const hv of [1, 2] as const) {
    for (const k of [1, 2]) {
      const name = `vm${hv}${k}`;
      vms.push({ name, ns: `${tag}-${name}`, hv, hvIf: name, mac: `02:00:00:00:0${hv}:0${k}`, ip4: `10.10.0.${hv}${k}` });
    }
  }
  const t: Topology = { tag, hvNs, vms, v6, underlay, namespaces: [...hvNs, ...vms.map((v) => v.ns)] };
  try {
    for (const ns of t.namespaces) {
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    ip(['-n', hvNs[0], 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', hvNs[1]]);
    for (const h of [0, 1]) {
      ip(['-n', hvNs[h], 'addr', 'add', `${underlay[h]}/${v6 ? 64 : 24}`, 'dev', 'ul0', ...(v6 ? ['nodad'] : [])]);
      ip(['-n', hvNs[h], 'link', 'set', 'ul0', 'up']);
    }
    for (const vm of vms) {
      const hv = hvNs[vm.hv - 1];
      ip(['-n', hv, 'link', 'add', vm.hvIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm.ns]);
      // The hypervisor kernel must stay off the VM ports: no IPv6 (no RS/MLD/DAD frames), no address.
      tryRun('ip', ['netns', 'exec', hv, 'sysctl', '-qw', `net.ipv6.conf.${vm.hvIf}.disable_ipv6=1`]);
      tryRun('ip', ['netns', 'exec', vm.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      tryRun('ip', ['netns', 'exec', hv, 'ethtool', '-K', vm.hvIf, 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      ip(['-n', hv, 'link', 'set', vm.hvIf, 'up']);
      setUpVmEth0(vm);
    }
  } catch (err) {
    destroyTopology(t);
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`building the namespaces failed: ${e.stderr?.toString().trim() || e.message}`, { cause: err });
  }
  return t;
}

/** Delete every namespace of the topology (their veths go with them). Never throws. */
export function destroyTopology(t: Topology): void {
  for (const ns of t.namespaces) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
}

export interface DaemonConfigOptions {
  type: 'vxlan' | 'geneve' | 'nvgre';
  vni?: number;
  socket: string;
  metricsListen?: string;
  transport?: 'afpacket' | 'afxdp' | 'udp' | 'raw';
  /** Backend of the VM-facing ports (default afpacket). */
  backend?: 'afpacket' | 'afxdp';
  /** `afxdp` options of the AF_XDP ports and underlay (ring sizes, modes). */
  afxdp?: Record<string, unknown>;
  logLevel?: string;
  ageing?: number;
  /** Outer UDP checksum over an IPv4 underlay (underlay.udpChecksum); default false. */
  udpChecksum?: boolean;
  /** GENEVE options of the network (default one 8-byte option, 0x0102/0x01). */
  geneveOptions?: { class: number; type: number; data: string }[];
  /** Offload plan of the daemons (host/native placements); default all host. */
  offload?: Record<string, string>;
  /** Extra top-level config sections (e.g. an `afpacket` tuning block), merged as given. */
  extra?: Record<string, unknown>;
}

/** The vtepd config for hypervisor `hv` (1 or 2): both VMs in one network, the other hypervisor as remote. */
export function daemonConfig(t: Topology, hv: 1 | 2, o: DaemonConfigOptions): Record<string, unknown> {
  const mine = t.vms.filter((v) => v.hv === hv);
  return {
    underlay: {
      interface: 'ul0', address: t.underlay[hv - 1], transport: o.transport ?? 'afpacket', mtu: 1500, udpChecksum: o.udpChecksum ?? false,
      ...(o.afxdp && o.transport === 'afxdp' ? { afxdp: o.afxdp } : {}),
    },
    ports: mine.map((v) => ({ name: v.name, interface: v.hvIf, backend: o.backend ?? 'afpacket', ...(o.afxdp && o.backend === 'afxdp' ? { afxdp: o.afxdp } : {}) })),
    networks: [{
      name: `demo-${o.type}`, vni: o.vni ?? 100, type: o.type, ports: mine.map((v) => v.name), remotes: [t.underlay[2 - hv]],
      ...(o.type === 'geneve' ? { geneveOptions: o.geneveOptions ?? [{ class: 0x0102, type: 0x01, data: '0000cafe' }] } : {}),
    }],
    fdb: { ageing: o.ageing ?? 300 },
    control: { socket: o.socket },
    metrics: { enabled: o.metricsListen !== undefined, listen: o.metricsListen ?? '127.0.0.1:9580' },
    log: { level: o.logLevel ?? 'info' },
    ...(o.offload ? { offload: o.offload } : {}),
    ...(o.extra ?? {}),
  };
}

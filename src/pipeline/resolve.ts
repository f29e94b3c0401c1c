/**
 * Config → stage specs: everything the data path needs from a validated
 * VtepdConfig, translated once into what each stage's constructor takes
 * (DecapConfig, EncapConfig per network, table options, which implementation,
 * where the outer checksum is made). Pure: no ports, no addon, no I/O, so the
 * translation is unit-tested on its own (test/pipeline/resolve.test.ts) and the
 * Dataplane only instantiates and wires what this returns.
 */
import { isIPv6 } from 'node:net';
import type { NetworkConfig, VtepdConfig } from '../config/config-schema.js';
import type { MacTableOptions } from '../l2/mac-learn.js';
import type { DecapConfig, EncapConfig, TunnelType } from '../tunnel/tunnel-config.js';
import { underlayVnet } from './open-ports.js';

/** Where a network's outer UDP checksum is made after encap (inline in encap: null). */
export type ChecksumSpec = { kind: 'native' } | { kind: 'kernel'; complete: boolean } | null;

export interface NetworkSpec {
  vni: number;
  name?: string;
  type: TunnelType;
  ageing?: number;
  /** Config port names that are members (the Dataplane maps them to opened devices). */
  ports: string[];
  remotes: string[];
  /** Encap stage config, null when the network has no remote VTEP. */
  encap: EncapConfig | null;
  /** Underlay transmit key: the UDP destination port, 0 for NVGRE. */
  txUdpPort: number;
  checksum: ChecksumSpec;
}

export interface PipelineSpec {
  batchSize: number;
  /** `native` = the C twins (offload encap-decap / forwarding-learning: native). */
  tunnelImpl: 'host' | 'native';
  bridgeImpl: 'host' | 'native';
  table: MacTableOptions;
  decap: DecapConfig;
  networks: NetworkSpec[];
  statics: { vni: number; mac: string; port?: string; remote?: string }[];
}

export interface ResolveEnv {
  /** MAC of the underlay interface (outer source). */
  localMac: string;
  /** Next-hop MAC per remote VTEP address; missing ones are sent to broadcast. */
  remoteMacs: Map<string, string>;
}

/** The outer UDP checksum: inline in encap (host), or left 0 by encap and filled by a later pass. */
function laterChecksum(cfg: VtepdConfig, n: NetworkConfig): boolean {
  const wantsUdpCsum = n.type !== 'nvgre' && (isIPv6(cfg.underlay.address) || cfg.underlay.udpChecksum);
  return wantsUdpCsum && (cfg.offload.checksum === 'native' || cfg.offload.checksum === 'kernel');
}

/** A network's encap stage config for these remote VTEPs (in position order); also used when remotes change at run time (remote-set.ts). */
export function encapConfig(cfg: VtepdConfig, env: ResolveEnv, n: NetworkConfig, remotes: readonly string[]): EncapConfig {
  const laterCsum = laterChecksum(cfg, n);
  return {
    type: n.type,
    vni: n.vni,
    local: cfg.underlay.address,
    localMac: env.localMac,
    remotes: remotes.map((ip) => ({ ip, mac: env.remoteMacs.get(ip) ?? 'ff:ff:ff:ff:ff:ff' })),
    dstPort: n.type === 'nvgre' ? undefined : n.udpPort,
    geneveOptions: n.geneveOptions.map((g) => ({ optClass: g.class, type: g.type | (g.critical ? 0x80 : 0), data: Uint8Array.from(Buffer.from(g.data, 'hex')) })),
    mtu: cfg.underlay.mtu,
    udpCsum: cfg.underlay.udpChecksum && !laterCsum,
    zeroCsum6Tx: laterCsum,
    ttl: cfg.underlay.ttl,
  };
}

export function resolvePipeline(cfg: VtepdConfig, env: ResolveEnv): PipelineSpec {
  const csumPlace = cfg.offload.checksum;
  const f = cfg.fdb;
  const vxlanPorts = new Set<number>();
  const genevePorts = new Set<number>();
  const known: { optClass: number; type: number }[] = [];
  const networks = cfg.networks.map((n): NetworkSpec => {
    if (n.type === 'vxlan') vxlanPorts.add(n.udpPort);
    if (n.type === 'geneve') genevePorts.add(n.udpPort);
    for (const g of n.geneveOptions) known.push({ optClass: g.class, type: g.type });
    const laterCsum = laterChecksum(cfg, n);
    const encap = n.remotes.length === 0 ? null : encapConfig(cfg, env, n, n.remotes);
    // Every network on a vnet underlay clears its vnet slots (a stale NEEDS_CSUM would hit its frames).
    const checksum: ChecksumSpec = csumPlace === 'kernel' && underlayVnet(cfg) ? { kind: 'kernel', complete: laterCsum }
      : laterCsum && csumPlace === 'native' ? { kind: 'native' } : null;
    return {
      vni: n.vni, name: n.name, type: n.type, ageing: n.ageing, ports: [...n.ports], remotes: [...n.remotes],
      encap, txUdpPort: n.type === 'nvgre' ? 0 : n.udpPort, checksum,
    };
  });
  return {
    batchSize: cfg.batch.size,
    // xdp: the slow path behind the programs runs the C stages (the addon is there: it loads the programs).
    tunnelImpl: cfg.offload['encap-decap'] === 'native' || cfg.offload['encap-decap'] === 'xdp' ? 'native' : 'host',
    bridgeImpl: cfg.offload['forwarding-learning'] === 'native' || cfg.offload['forwarding-learning'] === 'xdp' ? 'native' : 'host',
    table: { capacity: f.maxEntries, full: f.full, perPortLimit: f.perPortLimit, perRemoteLimit: f.perRemoteLimit, ageingSeconds: f.ageing, maxDomains: Math.max(16, cfg.networks.length) },
    decap: {
      // Each VNI in its network's tunnel type only ('tunnel-type-mismatch' otherwise).
      networks: cfg.networks.map((n) => ({ vni: n.vni, type: n.type })),
      vxlanPorts: [...vxlanPorts],
      // A port both types use is VXLAN's (the schema allows it; the VNI's kind then decides nothing more).
      genevePorts: [...genevePorts].filter((p) => !vxlanPorts.has(p)),
      nvgre: cfg.networks.some((n) => n.type === 'nvgre'),
      geneveKnownOptions: known,
    },
    networks,
    statics: f.static.map((s) => ({ vni: s.vni, mac: s.mac, port: s.port, remote: s.remote })),
  };
}

/** `vtepd encap IN OUT`: encapsulate every frame of a capture (VXLAN, GENEVE or NVGRE). */
import { summary } from './catalog.js';
import { Command, Option } from '../commander.js';
import { asUsageErrors, runCaptureCommand } from '../capture-command.js';
import { EncapStage } from '../../tunnel/encap.js';
import {
  parseGeneveOption, parseIntStrict, parseIp, TunnelConfigError, TUNNEL_TYPES,
  type EncapConfig, type GeneveOption, type TunnelType,
} from '../../tunnel/tunnel-config.js';

export interface EncapOpts {
  type: string;
  vni?: string;
  local?: string;
  remote?: string;
  localMac?: string;
  remoteMac?: string;
  vlan?: string;
  dstPort?: string;
  sportRange?: string;
  geneveOpt: string[];
  flowId?: string;
  mtu?: string;
  udpCsum?: boolean;
  zeroCsum6?: boolean;
  ttl?: string;
  copyDscp?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => prev.concat([v]);

/** Flags -> EncapConfig; every problem is a one-line UsageError. */
export function encapConfigFromFlags(o: EncapOpts): EncapConfig {
  return asUsageErrors(() => {
    if (!TUNNEL_TYPES.includes(o.type as TunnelType)) throw new TunnelConfigError(`--type must be one of ${TUNNEL_TYPES.join(', ')}, got '${o.type}'`);
    if (o.vni === undefined) throw new TunnelConfigError('--vni is required');
    if (o.local === undefined || o.remote === undefined) throw new TunnelConfigError('--local and --remote are required');
    const v6 = parseIp(o.local, '--local').v6;
    if (o.zeroCsum6 && !v6) throw new TunnelConfigError('--zero-csum6 applies to an IPv6 outer header only');
    if (o.udpCsum && v6) throw new TunnelConfigError('--udp-csum applies to IPv4 (IPv6 always computes it unless --zero-csum6)');
    let sportMin: number | undefined;
    let sportMax: number | undefined;
    if (o.sportRange !== undefined) {
      const m = /^(\d+)-(\d+)$/.exec(o.sportRange);
      if (!m) throw new TunnelConfigError(`--sport-range '${o.sportRange}' must be A-B, e.g. 49152-65535`);
      sportMin = parseIntStrict(m[1], '--sport-range start', 1, 65535);
      sportMax = parseIntStrict(m[2], '--sport-range end', sportMin, 65535);
    }
    const geneveOptions: GeneveOption[] = o.geneveOpt.map(parseGeneveOption);
    let flowId: number | 'hash' | undefined;
    if (o.flowId !== undefined) {
      if (o.type !== 'nvgre') throw new TunnelConfigError('--flow-id applies to --type nvgre');
      flowId = o.flowId === 'hash' ? 'hash' : parseIntStrict(o.flowId, '--flow-id', 0, 255);
    }
    return {
      type: o.type as TunnelType,
      vni: parseIntStrict(o.vni, o.type === 'nvgre' ? '--vni (VSID)' : '--vni', 0, 0xffffff),
      local: o.local,
      remotes: [{ ip: o.remote }],
      localMac: o.localMac,
      remoteMac: o.remoteMac,
      vlan: o.vlan === undefined ? undefined : parseIntStrict(o.vlan, '--vlan', 1, 4094),
      dstPort: o.dstPort === undefined ? undefined : parseIntStrict(o.dstPort, '--dst-port', 1, 65535),
      sportMin,
      sportMax,
      geneveOptions,
      flowId,
      mtu: o.mtu === undefined ? undefined : parseIntStrict(o.mtu, '--mtu', 1, 65535),
      udpCsum: !!o.udpCsum,
      zeroCsum6Tx: !!o.zeroCsum6,
      ttl: o.ttl === undefined ? undefined : parseIntStrict(o.ttl, '--ttl', 1, 255),
      copyDscp: !!o.copyDscp,
    };
  });
}

export function register(program: Command): void {
  program.command('encap')
    .description(summary('encap'))
    .argument('<in>', 'input capture (pcap or pcapng, Ethernet; - for stdin)')
    .argument('<out>', 'output pcap (timestamps kept; - for stdout, counters then on stderr)')
    .addOption(new Option('--type <type>', 'tunnel type').choices(TUNNEL_TYPES as string[]).makeOptionMandatory())
    .option('--vni <n>', 'VNI (VXLAN/GENEVE) or VSID (NVGRE), 0..16777215')
    .option('--local <ip>', 'outer source address (IPv4 or IPv6)')
    .option('--remote <ip>', 'remote VTEP address (same family as --local)')
    .option('--local-mac <mac>', 'outer source MAC (default 02:00:00:00:00:01)')
    .option('--remote-mac <mac>', 'outer destination MAC (default 02:00:00:00:00:02)')
    .option('--vlan <id>', 'outer 802.1Q VLAN id')
    .option('--dst-port <port>', 'UDP destination port (default 4789 VXLAN, 6081 GENEVE)')
    .option('--sport-range <a-b>', 'UDP source port range for the inner-flow hash (default 49152-65535)')
    .option('--geneve-opt <class:type:hex>', 'GENEVE option, repeatable (type bit 0x80 = critical)', collect, [])
    .option('--flow-id <n|hash>', 'NVGRE FlowID: fixed 0..255 or hash of the inner flow (default hash)')
    .option('--mtu <n>', 'underlay MTU (outer IP packet size); larger frames are dropped, never fragmented (default 1500)')
    .option('--udp-csum', 'compute the outer UDP checksum over IPv4 (default 0)')
    .option('--zero-csum6', 'send outer UDP checksum 0 over IPv6 (RFC 6935)')
    .option('--ttl <n>', 'outer TTL / hop limit (default 64)')
    .option('--copy-dscp', 'copy DSCP and ECN from the inner IP header')
    .option('-j, --json', 'print the counters as JSON on stdout (stderr when OUT is -) instead of the summary on stderr')
    .action((inPath: string, outPath: string, o: EncapOpts) => {
      const stage = asUsageErrors(() => new EncapStage(encapConfigFromFlags(o)));
      runCaptureCommand('encap', inPath, outPath, stage, o.json, Math.max(128, (stage.overhead + 63) & ~63));
    });
}

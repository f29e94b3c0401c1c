/** `vtepd decap IN OUT`: strip VXLAN / GENEVE / NVGRE and write the inner frames. */
import { summary } from './catalog.js';
import { Command } from '../commander.js';
import { asUsageErrors, runCaptureCommand } from '../capture-command.js';
import { DecapStage } from '../../tunnel/decap.js';
import { parseIntStrict, TunnelConfigError, type DecapConfig } from '../../tunnel/tunnel-config.js';

export interface DecapOpts {
  vni: string[];
  vxlanPort: string[];
  genevePort: string[];
  nvgre: boolean;
  keepOther?: boolean;
  verifyUdpCsum?: boolean;
  zeroCsum6Rx?: boolean;
  ipCsum: boolean;
  geneveKnown: string[];
  depth?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => prev.concat([v]);

export function decapConfigFromFlags(o: DecapOpts): DecapConfig {
  return asUsageErrors(() => {
    return {
      vnis: o.vni.map((v) => parseIntStrict(v, '--vni', 0, 0xffffff)),
      vxlanPorts: o.vxlanPort.length ? o.vxlanPort.map((p) => parseIntStrict(p, '--vxlan-port', 1, 65535)) : undefined,
      genevePorts: o.genevePort.length ? o.genevePort.map((p) => parseIntStrict(p, '--geneve-port', 1, 65535)) : undefined,
      nvgre: o.nvgre,
      keepOther: !!o.keepOther,
      verifyUdpCsum: !!o.verifyUdpCsum,
      zeroCsum6Rx: !!o.zeroCsum6Rx,
      verifyIp4Csum: o.ipCsum,
      geneveKnownOptions: o.geneveKnown.map((s) => {
        const m = /^([^:]+):([^:]+)$/.exec(s);
        if (!m) throw new TunnelConfigError(`--geneve-known '${s}' must be CLASS:TYPE`);
        return { optClass: parseIntStrict(m[1], 'GENEVE option class', 0, 0xffff), type: parseIntStrict(m[2], 'GENEVE option type', 0, 0xff) };
      }),
      maxDepth: o.depth === undefined ? undefined : parseIntStrict(o.depth, '--depth', 1, 8),
    };
  });
}

export function register(program: Command): void {
  program.command('decap')
    .description(summary('decap'))
    .argument('<in>', 'input capture (pcap or pcapng, Ethernet; - for stdin)')
    .argument('<out>', 'output pcap of the inner frames (timestamps kept; - for stdout, counters then on stderr)')
    .option('--vni <n>', 'accept only this VNI/VSID (repeatable; default all)', collect, [])
    .option('--vxlan-port <port>', 'VXLAN UDP port (repeatable; default 4789)', collect, [])
    .option('--geneve-port <port>', 'GENEVE UDP port (repeatable; default 6081)', collect, [])
    .option('--no-nvgre', 'do not recognise NVGRE (GRE 0x6558)')
    .option('--keep-other', 'pass non-tunnel frames through untouched (default: drop them)')
    .option('--verify-udp-csum', 'verify non-zero outer UDP checksums (off by default: veth leaves them unfinished)')
    .option('--zero-csum6-rx', 'accept outer IPv6 UDP checksum 0 (RFC 6935)')
    .option('--no-ip-csum', 'do not verify the outer IPv4 header checksum')
    .option('--geneve-known <class:type>', 'a critical GENEVE option this receiver understands (repeatable)', collect, [])
    .option('--depth <n>', 'tunnel levels to strip per frame, 1..8 (default 1)')
    .option('-j, --json', 'print the counters as JSON on stdout (stderr when OUT is -) instead of the summary on stderr')
    .action((inPath: string, outPath: string, o: DecapOpts) => {
      const stage = asUsageErrors(() => new DecapStage(decapConfigFromFlags(o)));
      runCaptureCommand('decap', inPath, outPath, stage, o.json);
    });
}

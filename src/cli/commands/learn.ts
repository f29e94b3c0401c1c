/**
 * `vtepd learn FILE.pcap`: replay a capture (tunnelled and/or plain frames)
 * through decap and the learning bridge, print the final MAC table like
 * `bridge fdb show`, one entry per line (or one JSON object per line).
 */
import { summary } from './catalog.js';
import type { Command } from '../commander.js';
import { learnReplay } from '../../l2/learn-replay.js';
import { inputPath } from '../file-args.js';
import { intArg, intListArg } from '../arg-parsers.js';

export function register(program: Command): void {
  program
    .command('learn')
    .description(summary('learn'))
    .argument('<file>', 'pcap or pcapng capture (- for stdin)')
    .option('--ageing <seconds>', 'ageing time (default 300)', intArg(1, 86400))
    .option('-j, --json', 'one JSON array of entries (keys as vtepd fdb show -j: mac, ifname, dst, state, vni, vlan, ageSeconds)')
.option('-p, --pretty', 'indent the JSON')
    .option('--vxlan-port <port>', 'UDP port carrying VXLAN (repeatable, default 4789)', intListArg(1, 65535))
    .option('--geneve-port <port>', 'UDP port carrying GENEVE (repeatable, default 6081)', intListArg(1, 65535))
    .option('--max-entries <n>', 'MAC table capacity (default 1048576)', intArg(16, 1 << 24))
    .action((file: string, opts: { ageing?: number; json?: boolean; pretty?: boolean; vxlanPort?: number[]; genevePort?: number[]; maxEntries?: number }) => {
      const res = learnReplay(inputPath(file), {
        ageingSeconds: opts.ageing,
        vxlanPorts: opts.vxlanPort,
        genevePorts: opts.genevePort,
        capacity: opts.maxEntries,
      });
      const lines: string[] = [];
      if (opts.json) {
        const rows = res.entries.map((e) => ({
          mac: e.mac, vni: e.vni, vlan: e.vlan, state: e.static ? 'static' : 'learned', ageSeconds: e.ageSeconds,
          ...(e.port !== null ? { ifname: e.port } : {}), ...(e.remote !== null ? { dst: e.remote } : {}),
        }));
        lines.push(JSON.stringify(rows, null, opts.pretty ? 2 : undefined));
      }
      for (const e of opts.json ? [] : res.entries) {
        const dom = e.vni !== null ? `vni ${e.vni}` : `vlan ${e.vlan}`;
        const where = e.remote !== null ? `dst ${e.remote}` : `port ${e.port}`;
        const flags = [e.static ? 'static' : 'learned', ...(e.frozen ? ['frozen'] : [])].join(' ');
        lines.push(`${e.mac} ${dom} ${where} ${flags} age ${e.ageSeconds.toFixed(2)}`);
      }
      if (lines.length) process.stdout.write(lines.join('\n') + '\n');
      const t = res.totals;
      const drops = Object.entries(t).filter(([k, v]) => (k.startsWith('drop-') || k.startsWith('decap-')) && v > 0).map(([k, v]) => `${k}=${v}`);
      process.stderr.write(`learn: ${res.frames} frames, ${res.entries.length} entries; learned ${t.learned ?? 0}, moved ${t.moved ?? 0}, aged ${t.aged ?? 0}, ` +
        `unicast ${t.unicast ?? 0}, flooded ${t.flooded ?? 0}${drops.length ? `; ${drops.join(' ')}` : ''}\n`);
    });
}

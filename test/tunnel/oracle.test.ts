/**
 * Independent oracles on `vtepd encap` output: tshark (no malformed or expert
 * marks beyond those the inner frame already had, good outer IPv4/UDP
 * checksums, the configured VNI/VSID, ports, VLAN, TTL and GENEVE options) and
 * scapy (its own checksum recomputation, lengths, tunnel fields, and the inner
 * frame it finds equal to the input frame). Every type, IPv4 and IPv6 outer.
 * The encap runs the command's own flag parsing and stage in-process.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCapture, PcapWriter } from '../../src/capture/index.js';
import { PY } from './fixtures/util.js';
import { Command } from 'commander';
import { register as registerEncap, encapConfigFromFlags, type EncapOpts } from '../../src/cli/commands/encap.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { runCapture } from '../../src/tunnel/capture-tool.js';

const CHECK = fileURLToPath(new URL('./fixtures/scapy_check.py', import.meta.url));
const repoFixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vtepd-oracle-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// Inner frames: a scapy-built variety (odd lengths, VLAN, IPv6, ARP, TOS set, 1400 B) ...
const inner = join(dir, 'inner.pcap');
execFileSync(PY, ['-c', `
import logging; logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import *
E = Ether(src='02:00:00:00:00:0a', dst='02:00:00:00:00:0b')
ps = [E/IP(src='10.0.0.1', dst='10.0.0.2', tos=0xb8)/UDP(sport=1111, dport=2222)/Raw(b'a'*33),
      E/IP(src='10.0.0.1', dst='10.0.0.2')/TCP(sport=5555, dport=6666, flags='A')/Raw(b'b'*1360),
      E/IPv6(src='fd00::1', dst='fd00::2', tc=0xb9)/UDP(sport=7777, dport=8888)/Raw(b'c'*7),
      Ether(dst='ff:ff:ff:ff:ff:ff', src='02:00:00:00:00:0a')/ARP(psrc='10.0.0.1', pdst='10.0.0.9'),
      E/Dot1Q(vlan=7)/IP(src='10.0.0.3', dst='10.0.0.4')/ICMP()/Raw(b'p'*21)]
for i, p in enumerate(ps): p.time = 1700000000 + i + 0.25
wrpcap('${inner}.scapy', ps)
`]);
// ... plus every frame of the project's own fixtures when present.
{
  const w = new PcapWriter(inner);
  const add = (p: string) => {
    try {
      const r = openCapture(p);
      try {
        for (let rec = r.next(); rec !== null; rec = r.next()) if (rec.caplen >= 14 && rec.caplen <= 9000) w.write(rec.data, rec.offset, rec.caplen, rec.caplen, rec.tsSec, rec.tsNsec);
      } finally {
        r.close();
      }
    } catch {
      /* fixtures that are corrupt on purpose */
    }
  };
  add(`${inner}.scapy`);
  if (existsSync(repoFixtures)) for (const f of readdirSync(repoFixtures).sort()) if (/\.pcap(ng)?$/.test(f)) add(join(repoFixtures, f));
  w.close();
}

/**
 * `vtepd encap` in this process: commander parses the real flags, the command's own
 * flag -> config code builds the stage, runCapture does the files (node start-up per
 * case is slow on a busy host; cli.test.ts covers the spawned process).
 */
async function encapInProcess(args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerEncap(program);
  let got: [string, string, EncapOpts] | null = null;
  program.commands.find((x) => x.name() === 'encap')!.action((i: string, o: string, opts: EncapOpts) => { got = [i, o, opts]; });
  await program.parseAsync(['node', 'vtepd', 'encap', ...args]);
  const [i, o, opts] = got!;
  const stage = new EncapStage(encapConfigFromFlags(opts));
  runCapture(i, o, stage, { headroom: 384 });
}

function tshark(file: string, args: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

const expertOf = (file: string) => tshark(file, ['-e', '_ws.expert.message', '-e', '_ws.malformed']).map((r) => r.join('|'));
const baseline = expertOf(inner);

interface Case { name: string; args: string[]; type: string; v6: boolean; vni: number; udpCsum: boolean }
const cases: Case[] = [
  { name: 'vxlan ip4', type: 'vxlan', v6: false, vni: 5000, udpCsum: false, args: ['--local', '192.0.2.1', '--remote', '192.0.2.2', '--copy-dscp', '--ttl', '17'] },
  { name: 'vxlan ip4 vlan udp-csum', type: 'vxlan', v6: false, vni: 16777215, udpCsum: true, args: ['--local', '192.0.2.1', '--remote', '192.0.2.2', '--vlan', '301', '--udp-csum', '--sport-range', '60000-60003'] },
  { name: 'vxlan ip6', type: 'vxlan', v6: true, vni: 1, udpCsum: true, args: ['--local', '2001:db8::1', '--remote', '2001:db8::2', '--copy-dscp'] },
  { name: 'geneve ip4 options', type: 'geneve', v6: false, vni: 0xc012e, udpCsum: true, args: ['--local', '192.0.2.1', '--remote', '192.0.2.2', '--udp-csum', '--geneve-opt', '0x0102:0x80:deadbeef', '--geneve-opt', '0x0100:3:0011223344556677'] },
  { name: 'geneve ip6', type: 'geneve', v6: true, vni: 77, udpCsum: true, args: ['--local', '2001:db8::1', '--remote', '2001:db8::2', '--geneve-opt', '7:1:'] },
  { name: 'nvgre ip4', type: 'nvgre', v6: false, vni: 0x123456, udpCsum: false, args: ['--local', '192.0.2.1', '--remote', '192.0.2.2', '--vlan', '12'] },
  { name: 'nvgre ip6 fixed flow id', type: 'nvgre', v6: true, vni: 42, udpCsum: false, args: ['--local', '2001:db8::1', '--remote', '2001:db8::2', '--flow-id', '200'] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const out = join(dir, `${c.name.replace(/ /g, '_')}.pcap`);
    await encapInProcess([inner, out, '--type', c.type, '--vni', String(c.vni), '--mtu', '9100', ...c.args]);
    const expert = expertOf(out);
    t.equal(expert.length, baseline.length, 'one output frame per input frame');
    let diff = 0;
    expert.forEach((e, i) => { if (e !== baseline[i] && diff++ < 3) t.fail(`frame ${i + 1}: expert/malformed "${e}" vs inner alone "${baseline[i]}"`); });
    t.equal(diff, 0, 'tshark adds no malformed or expert marks to any frame');

    const f = tshark(out, ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-E', 'occurrence=f',
      '-e', 'ip.checksum.status', '-e', 'udp.checksum.status', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'vxlan.vni', '-e', 'geneve.vni',
      '-e', 'gre.key', '-e', 'vlan.id', '-e', 'ip.ttl', '-e', 'ipv6.hlim', '-e', 'ip.flags.df', '-e', 'ipv6.src']);
    const vlan = c.args.includes('--vlan') ? c.args[c.args.indexOf('--vlan') + 1] : '';
    const ttl = c.args.includes('--ttl') ? c.args[c.args.indexOf('--ttl') + 1] : '64';
    const [sLo, sHi] = c.args.includes('--sport-range') ? c.args[c.args.indexOf('--sport-range') + 1].split('-').map(Number) : [49152, 65535];
    let bad = 0;
    const sports = new Set<number>();
    f.forEach(([ipCs, udpCs, sport, dport, vxVni, genVni, greKey, vlanId, ipTtl, hlim, df, v6src], i) => {
      const problems: string[] = [];
      if (!c.v6 && ipCs !== '1') problems.push(`ip checksum status ${ipCs}`);
      if (!c.v6 && df !== '1' && df !== 'True') problems.push(`DF ${df}`);
      if (c.v6 && v6src !== '2001:db8::1') problems.push(`ipv6 src ${v6src}`);
      if (c.type !== 'nvgre') {
        if (udpCs !== (c.udpCsum ? '1' : '3')) problems.push(`udp checksum status ${udpCs}`);
        if (Number(dport) !== (c.type === 'vxlan' ? 4789 : 6081)) problems.push(`dport ${dport}`);
        if (!(Number(sport) >= sLo && Number(sport) <= sHi)) problems.push(`sport ${sport}`);
        sports.add(Number(sport));
        const vni = c.type === 'vxlan' ? Number(vxVni) : parseInt(genVni, 16);
        if (vni !== c.vni) problems.push(`vni ${vxVni}${genVni}`);
      } else {
        const key = parseInt(greKey, 16);
        if (key >>> 8 !== c.vni) problems.push(`vsid ${greKey}`);
        if (c.args.includes('--flow-id') && (key & 0xff) !== 200) problems.push(`flow id ${greKey}`);
      }
      if (vlan && vlanId !== vlan) problems.push(`vlan ${vlanId}`);
      if ((c.v6 ? hlim : ipTtl) !== ttl) problems.push(`ttl ${ipTtl}${hlim}`);
      if (problems.length && bad++ < 3) t.fail(`frame ${i + 1}: ${problems.join(', ')}`);
    });
    t.equal(bad, 0, `tshark: outer checksums, VNI/VSID, ports, VLAN, TTL of ${f.length} frames`);
    if (c.type !== 'nvgre') t.ok(sports.size > 1, `source port varies with the inner flow (${sports.size} ports)`);

    if (c.type === 'geneve') {
      const want = c.args.filter((_, k) => k > 0 && c.args[k - 1] === '--geneve-opt');
      const o = tshark(out, ['-e', 'geneve.option.class', '-e', 'geneve.option.type', '-e', 'geneve.option.unknown.data', '-e', 'geneve.flags.critical']);
      const [cls, typ] = o[0];
      t.same(cls.split(',').slice(0, want.length).map((x) => parseInt(x, 16)), want.map((w) => parseInt(w.split(':')[0], 16)), 'tshark: option classes');
      t.same(typ.split(',').slice(0, want.length).map((x) => parseInt(x, 16)), want.map((w) => Number(w.split(':')[1])), 'tshark: option types');
      t.equal(o[0][3].split(',')[0], want.some((w) => Number(w.split(':')[1]) & 0x80) ? '1' : '0', 'tshark: C bit iff a critical option');
    }

    // scapy, the second independent decoder.
    const rows = execFileSync(PY, [CHECK, out, inner, c.type], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    t.equal(rows.length, baseline.length, 'scapy reads every frame');
    let sbad = 0;
    for (const [i, r] of rows.entries()) {
      const p: string[] = [];
      if (r.inner_equal !== true) p.push('inner frame differs');
      if (r.ts !== r.ts_in) p.push('timestamp changed');
      if (r.ip_len_ok !== true) p.push('ip length');
      if (!c.v6 && (r.ip_csum_ok !== true || r.df !== true)) p.push('ip checksum/DF');
      if (c.type === 'vxlan' && (r.tunnel !== 'VXLAN' || r.vni !== c.vni || r.flags !== 8)) p.push(`vxlan ${r.tunnel} ${r.vni} ${r.flags}`);
      if (c.type === 'geneve' && (r.tunnel !== 'GENEVE' || r.vni !== c.vni || r.ver !== 0 || r.proto !== 0x6558)) p.push('geneve header');
      if (c.type === 'nvgre' && (r.tunnel !== 'GRE' || r.vsid !== c.vni || r.key_present !== 1 || r.chksum_present !== 0 || r.seq_present !== 0 || r.proto !== 0x6558)) p.push('nvgre header');
      if (c.type !== 'nvgre') {
        if (r.udp_len_ok !== true) p.push('udp length');
        if (c.udpCsum ? r.udp_csum_ok !== true : r.udp_csum !== 0) p.push(`udp checksum ${r.udp_csum} ok=${r.udp_csum_ok}`);
      }
      if (p.length && sbad++ < 3) t.fail(`scapy frame ${i + 1}: ${p.join(', ')}`);
    }
    t.equal(sbad, 0, 'scapy: checksums, lengths, tunnel fields, inner frames identical, timestamps kept');
    if (c.type === 'geneve') {
      const want = c.args.filter((_, k) => k > 0 && c.args[k - 1] === '--geneve-opt').map((w) => { const [a, b, d] = w.split(':'); return [parseInt(a, 16), Number(b), d]; });
      t.same(rows[0].options, want, 'scapy: GENEVE options as configured');
    }
    if (c.args.includes('--copy-dscp')) {
      t.equal(rows[0].tos, 0xb8, 'DSCP/ECN copied from inner IPv4');
      t.equal(rows[2].tos, 0xb9, 'DSCP/ECN copied from inner IPv6 traffic class');
      t.equal(rows[3].tos, 0, 'no inner IP (ARP): 0');
    }
  });
}

/**
 * `vtepd dissect --json` against tshark (an independent decoder) on every good
 * capture in fixtures/ and ../shared/fixtures/external/: addresses, VLAN IDs,
 * ports, VNIs, GENEVE options, GRE keys (NVGRE = VSID << 8 | FlowID), ARP,
 * MPLS label stacks and the pseudowire control word (fixtures/mpls.pcap).
 *
 * Per field, the lists of occurrences (outermost first) must be equal. tshark
 * may legitimately decode deeper than vtepd (the IP header quoted inside an
 * ICMP error, GRE keepalive payloads, partial fields of a cut header): only
 * then may vtepd's list be a strict prefix of tshark's, and every such case
 * is counted and must be explained by the frame (error, or a stop at a
 * protocol vtepd does not decode).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PcapWriter } from '../../src/capture/index.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { dissectLocal as dissect, goodCaptures, haveTool, hasExternal, external, type Layer, type FrameRecord } from './oracle.js';

type Val = string | number;
type Extract = (layers: Layer[]) => Val[];

const of = (proto: string, key: string): Extract => (ls) => ls.filter((l) => l.proto === proto).map((l) => l[key] as Val);
const num = (v: string): number => Number(v);

// tshark field -> [how to read vtepd's layers, how to normalise tshark's text]
const FIELDS: Record<string, [Extract, (v: string) => Val]> = {
  'eth.src': [of('eth', 'src'), (v) => v],
  'eth.dst': [of('eth', 'dst'), (v) => v],
  'vlan.id': [(ls) => ls.filter((l) => l.proto === 'vlan' && l.tpid !== '0x88a8').map((l) => l.vid as number), num],
  'ieee8021ad.id': [(ls) => ls.filter((l) => l.proto === 'vlan' && l.tpid === '0x88a8').map((l) => l.vid as number), num],
  'arp.opcode': [of('arp', 'op'), num],
  'arp.src.proto_ipv4': [of('arp', 'spa'), (v) => v],
  'arp.dst.proto_ipv4': [of('arp', 'tpa'), (v) => v],
  'ip.src': [of('ipv4', 'src'), (v) => v],
  'ip.dst': [of('ipv4', 'dst'), (v) => v],
  'ip.ttl': [of('ipv4', 'ttl'), num],
  'ipv6.src': [of('ipv6', 'src'), (v) => v],
  'ipv6.dst': [of('ipv6', 'dst'), (v) => v],
  'udp.srcport': [of('udp', 'sport'), num],
  'udp.dstport': [of('udp', 'dport'), num],
  'tcp.srcport': [of('tcp', 'sport'), num],
  'tcp.dstport': [of('tcp', 'dport'), num],
  'vxlan.vni': [of('vxlan', 'vni'), num],
  'geneve.vni': [of('geneve', 'vni'), num],
  'geneve.option.class': [(ls) => geneveOpts(ls).map((o) => Number(o.class)), num],
  'geneve.option.type': [(ls) => geneveOpts(ls).map((o) => o.type), num],
  // tshark lists, per GENEVE header, the options' total length then each option's
  // length INCLUDING its 4-byte TLV header; vtepd's length is the data bytes.
  'geneve.option.length': [(ls) => ls.filter((l) => l.proto === 'geneve').flatMap((l) => {
    const o = l.options as { length: number }[];
    return [o.reduce((a, x) => a + x.length + 4, 0), ...o.map((x) => x.length + 4)];
  }), num],
  'mpls.label': [of('mpls', 'label'), num],
  'mpls.exp': [of('mpls', 'tc'), num],
  'mpls.bottom': [(ls) => ls.filter((l) => l.proto === 'mpls').map((l) => (l.bottom ? 1 : 0)), num],
  'mpls.ttl': [of('mpls', 'ttl'), num],
  'pweth.cw.sequence_number': [of('pw-cw', 'seq'), num],
  'gre.key': [(ls) => ls.flatMap((l) => (l.proto === 'gre' && l.key !== null ? [l.key as number]
    : l.proto === 'nvgre' ? [(l.vsid as number) * 256 + (l.flowId as number)] : [])), num],
};
const NAMES = Object.keys(FIELDS);

function geneveOpts(ls: Layer[]): { class: string; type: number; length: number }[] {
  return ls.filter((l) => l.proto === 'geneve').flatMap((l) => l.options as { class: string; type: number; length: number }[]);
}

function tshark(file: string, extra: string[]): string[][] {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t', ...extra,
    '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', ...NAMES.flatMap((n) => ['-e', n])];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** May tshark decode deeper than vtepd on this frame? */
function mayGoDeeper(f: FrameRecord): boolean {
  if (f.error !== undefined) return true;
  const last = f.layers[f.layers.length - 1];
  return last === undefined || !['tcp', 'arp', 'vxlan', 'geneve', 'nvgre'].includes(last.proto);
}

function compare(t: Tap.Test, file: string, frames: FrameRecord[], rows: string[][], stats: { exact: number; prefix: number }): void {
  t.equal(frames.length, rows.length, `${basename(file)}: frame count = tshark's`);
  for (let i = 0; i < Math.min(frames.length, rows.length); i++) {
    const f = frames[i];
    const row = rows[i];
    const where = `${basename(file)} frame ${f.frame}`;
    // Simple packet blocks carry no timestamp: tshark prints none. mergecap keeps
    // microseconds only for some interfaces, so compare to the microsecond.
    if (row[0] !== '') t.equal(f.ts.slice(0, -3), row[0].slice(0, -3), `${where} ts`);
    t.equal(f.caplen, Number(row[1]), `${where} caplen`);
    t.equal(f.len, Number(row[2]), `${where} len`);
    NAMES.forEach((name, j) => {
      const [extract, norm] = FIELDS[name];
      const theirs = row[3 + j] === '' || row[3 + j] === undefined ? [] : row[3 + j].split(',').map(norm);
      const ours = extract(f.layers);
      const same = ours.length === theirs.length && ours.every((v, k) => v === theirs[k]);
      if (same) { if (ours.length) stats.exact++; return; }
      const prefix = ours.length < theirs.length && ours.every((v, k) => v === theirs[k]);
      if (prefix && mayGoDeeper(f)) {
        stats.prefix++;
        if (process.env.VTEPD_TEST_VERBOSE) t.comment(`${where} ${name}: prefix ${JSON.stringify(ours)} of ${JSON.stringify(theirs)}`);
        return;
      }
      t.fail(`${where} ${name}: vtepd ${JSON.stringify(ours)} vs tshark ${JSON.stringify(theirs)}`);
    });
  }
}

declare namespace Tap { type Test = typeof t }

const skip = haveTool('tshark') ? false : 'tshark not installed';

t.test('dissect --json agrees with tshark on every good capture', { skip }, async (t) => {
  const files = goodCaptures();
  t.ok(files.length > 0, 'there are captures to compare');
  // One tshark run over all files concatenated (mergecap -a keeps every record in
  // order): tshark's start-up dominates, so this keeps the test fast.
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const merged = join(dir, 'all.pcapng');
  const m = spawnSync('mergecap', ['-a', '-w', merged, ...files], { encoding: 'utf8' });
  t.equal(m.status, 0, `mergecap: ${m.stderr}`);
  const rows = tshark(merged, []);
  const stats = { exact: 0, prefix: 0 };
  let at = 0;
  for (const file of files) {
    const d = await dissect(file);
    t.equal(d.status, 0, `${basename(file)}: exit 0 (${d.stderr.trim()})`);
    if (d.status !== 0) break; // frames would no longer line up with tshark's rows
    compare(t, file, d.frames, rows.slice(at, at + d.frames.length), stats);
    at += d.frames.length;
  }
  t.equal(at, rows.length, 'every frame tshark saw was compared');
  t.comment(`${files.length} files, ${at} frames; field lists equal to tshark's: ${stats.exact}; prefixes where tshark decodes deeper: ${stats.prefix}`);
  t.ok(stats.exact > 10 * stats.prefix, 'prefix matches stay the exception');
});

t.test('--vxlan-port / --geneve-port add ports (tshark told the same with -d)', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ports-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // GENEVE and VXLAN templates re-addressed to non-standard ports (UDP checksum is 0: no fix-up needed).
  const file = join(dir, 'ports.pcap');
  const w = new PcapWriter(file);
  const s = sampleFrames();
  for (const [name, port] of [['geneve-opts', 7777], ['vxlan4', 8888]] as const) {
    const b = s.find((x) => x.name === name)!.bytes.slice();
    b[36] = port >>> 8; b[37] = port & 0xff;
    w.write(b, 0, b.length, b.length, 1, 0);
  }
  w.close();
  const plain = await dissect(file);
  t.notOk(plain.frames.some((f) => f.layers.some((l) => l.proto === 'geneve' || l.proto === 'vxlan')), 'not tunnels by default');
  const d = await dissect(file, { genevePorts: [7777], vxlanPorts: [8888] });
  t.same(d.frames.map((f) => f.layers.map((l) => l.proto).join('/')), [
    'eth/ipv4/udp/geneve/eth/ipv4/tcp', 'eth/ipv4/udp/vxlan/eth/ipv4/tcp',
  ]);
  const stats = { exact: 0, prefix: 0 };
  compare(t, file, d.frames, tshark(file, ['-d', 'udp.port==7777,geneve', '-d', 'udp.port==8888,vxlan']), stats);
  t.equal(stats.prefix, 0);
  t.ok(stats.exact > 10);
  if (hasExternal) {
    const custom = join(external, 'packetnet/vxlan_custom_port.pcap');
    t.notOk((await dissect(custom)).frames[0].layers.some((l) => l.proto === 'vxlan'), 'port 65530 is not VXLAN by default');
    const c = await dissect(custom, { vxlanPorts: [65530] });
    compare(t, custom, c.frames, tshark(custom, ['-d', 'udp.port==65530,vxlan']), stats);
    t.ok(c.frames[0].layers.some((l) => l.proto === 'vxlan'), 'with --vxlan-port 65530 it is');
  }
});

t.test('text output: one line per frame on every good capture, numbered, errors inline', async (t) => {
  const { dissectFile } = await import('../../src/dissect/run.js');
  for (const file of goodCaptures()) {
    const lines: string[] = [];
    const json = await dissect(file);
    const r = await dissectFile(file, { json: false }, (l) => { lines.push(l); return true; });
    t.equal(r.fault, null, basename(file));
    t.equal(lines.length, json.frames.length, `${basename(file)}: ${lines.length} lines`);
    lines.forEach((l, i) => {
      if (!l.startsWith(`${i + 1} ${json.frames[i].ts} `) && l !== `${i + 1} ${json.frames[i].ts}`) t.fail(`${basename(file)} line ${i + 1}: ${l}`);
      if (json.frames[i].error !== undefined && !l.includes(`[error: ${json.frames[i].error}]`)) t.fail(`${basename(file)} line ${i + 1} lacks its error`);
    });
  }
});

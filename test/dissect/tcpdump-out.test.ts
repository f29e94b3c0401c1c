/**
 * `vtepd dissect --json` against tcpdump's own expected decodes (the `.out`
 * files of tcpdump's test suite in ../shared/fixtures/external/tcpdump/):
 * frames matched by timestamp; VNIs, MAC pairs (-e), IPv4 address/port pairs,
 * VLAN IDs, ARP who-has/tell, GENEVE option class/type/length and GRE keys
 * compared wherever tcpdump printed them.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dissectLocal, external, hasExternal, type FrameRecord, type Layer } from './oracle.js';

const dir = join(external, 'tcpdump');
const skip = hasExternal && existsSync(dir) ? false : '../shared/fixtures/external/tcpdump absent';

interface Block { ts: string; text: string }

/** Split an .out file into packets: a packet starts with "   N  YYYY-MM-DD HH:MM:SS.uuuuuu". */
function blocks(out: string): Block[] {
  const res: Block[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\d+\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) /.exec(line);
    if (m) res.push({ ts: m[1], text: line });
    else if (res.length) res[res.length - 1].text += '\n' + line;
  }
  return res;
}

/** Our "SEC.NSEC" as tcpdump's -tttt in GMT. */
function tsText(ts: string): string {
  const [sec, ns] = ts.split('.');
  return new Date(Number(sec) * 1000).toISOString().replace('T', ' ').slice(0, 19) + '.' + ns.slice(0, 6);
}

const all = (re: RegExp, s: string): RegExpExecArray[] => [...s.matchAll(re)];
const by = (ls: Layer[], p: string): Layer[] => ls.filter((l) => l.proto === p);

function check(t: Tap, f: FrameRecord, text: string, where: string, deeper: boolean): number {
  let n = 0;
  const eq = (ours: unknown[], theirs: unknown[], what: string): void => {
    if (theirs.length === 0) return; // tcpdump did not print this one
    n++;
    if (deeper && ours.length < theirs.length) t.same(ours, theirs.slice(0, ours.length), `${where} ${what} (prefix: tcpdump decodes further)`);
    else t.same(ours, theirs, `${where} ${what}`);
  };
  const L = f.layers;
  eq([...by(L, 'vxlan'), ...by(L, 'geneve')].sort((a, b) => L.indexOf(a) - L.indexOf(b)).map((l) => l.vni),
    all(/\bvni (0x[0-9a-f]+|\d+)/g, text).map((m) => Number(m[1])), 'VNIs');
  eq(by(L, 'eth').map((l) => `${l.src} > ${l.dst}`),
    all(/\b([0-9a-f]{2}(?::[0-9a-f]{2}){5}) > ([0-9a-f]{2}(?::[0-9a-f]{2}){5})/g, text).map((m) => `${m[1]} > ${m[2]}`), 'MAC pairs');
  // IPv4 pairs with ports when the next layer is UDP/TCP.
  const ours4 = L.flatMap((l, i) => {
    if (l.proto !== 'ipv4') return [];
    const nx = L[i + 1];
    const ports = nx && (nx.proto === 'udp' || nx.proto === 'tcp');
    return [`${l.src}${ports ? '.' + nx.sport : ''} > ${l.dst}${ports ? '.' + nx.dport : ''}`];
  });
  eq(ours4, all(/\b(\d+\.\d+\.\d+\.\d+(?:\.\d+)?) > (\d+\.\d+\.\d+\.\d+(?:\.\d+)?):/g, text).map((m) => `${m[1]} > ${m[2]}`), 'IPv4 pairs');
  eq(by(L, 'vlan').map((l) => l.vid), all(/\bvlan (\d+)/g, text).map((m) => Number(m[1])), 'VLAN IDs');
  eq(by(L, 'arp').filter((l) => l.op === 1).map((l) => `${l.tpa} tell ${l.spa}`),
    all(/who-has (\S+) tell (\S+?),/g, text).map((m) => `${m[1]} tell ${m[2]}`), 'ARP who-has');
  eq(by(L, 'geneve').flatMap((l) => (l.options as { class: string; type: number; length: number }[]).map((o) => `${Number(o.class)}/${o.type}/${o.length + 4}`)),
    all(/class [^()]*\((0x[0-9a-f]+)\) type (0x[0-9a-f]+)(?:\(C\))? len (\d+)/g, text).map((m) => `${Number(m[1])}/${Number(m[2])}/${m[3]}`), 'GENEVE options');
  eq(by(L, 'gre').map((l) => l.key), all(/key=(0x[0-9a-f]+)/g, text).map((m) => Number(m[1])), 'GRE keys');
  return n;
}

type Tap = typeof t;

for (const [out, pcap] of [
  ['vxlan.out', 'vxlan.pcap'],
  ['geneve-vv.out', 'geneve.pcap'],
  ['geneve-vni.out', 'geneve.pcap'],
  ['802.1ad_QinQ.out', '802.1ad_QinQ.pcap'],
  ['various_gre.out', 'various_gre.pcap'],
] as const) {
  t.test(`${out} vs dissect ${pcap}`, { skip }, async (t) => {
    const d = await dissectLocal(join(dir, pcap));
    t.equal(d.status, 0);
    const byTs = new Map<string, FrameRecord[]>();
    for (const f of d.frames) {
      const k = tsText(f.ts);
      byTs.set(k, [...(byTs.get(k) ?? []), f]);
    }
    let compared = 0;
    for (const b of blocks(readFileSync(join(dir, out), 'utf8'))) {
      const f = byTs.get(b.ts)?.shift();
      if (!f) { t.fail(`${out}: no frame at ${b.ts}`); continue; }
      // GRE keepalives / unknown GRE protocols: tcpdump prints the quoted packet, vtepd stops.
      const last = f.layers[f.layers.length - 1];
      compared += check(t, f, b.text, `${out} ${b.ts}`, last !== undefined && last.proto === 'gre');
    }
    t.ok(compared > 0, `${compared} field groups compared`);
  });
}

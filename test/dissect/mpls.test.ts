/**
 * MPLS in the walker: label stacks, what follows the bottom entry (IPv4, IPv6,
 * control word + Ethernet, Ethernet without control word, a PW associated
 * channel that is not decoded), cuts inside the stack, and the byte emitters
 * agreeing with the string formatters on all of it. tshark's view of the same
 * shapes is checked in tshark.test.ts on fixtures/mpls.pcap.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dissectLocal, external, hasExternal, haveTool } from './oracle.js';
import { WalkState, walkFrame } from '../../src/dissect/walk.js';
import { LAYER_NAMES, STOP_REASONS } from '../../src/dissect/layers.js';
import { walkErrorMessage } from '../../src/dissect/describe.js';
import { frameJson } from '../../src/dissect/format-json.js';
import { frameText } from '../../src/dissect/format-text.js';
import { ByteOut } from '../../src/dissect/byte-out.js';
import { emitFrameJson } from '../../src/dissect/emit-json.js';
import { emitFrameText } from '../../src/dissect/emit-text.js';
import { writeEthernet } from '../../src/packet/ethernet.js';
import { writeIpv4 } from '../../src/packet/ipv4.js';
import { writeMpls } from '../../src/packet/mpls.js';

/** Ethernet(0x8847) + labels + `tail` bytes. */
function frame(labels: number[], tail: number[]): Uint8Array {
  const b = new Uint8Array(14 + labels.length * 4 + tail.length);
  writeEthernet(b, 0, 0x0200, 0x00000002, 0x0200, 0x00000001, 0x8847);
  labels.forEach((l, i) => writeMpls(b, 14 + 4 * i, l, i & 7, i === labels.length - 1, 64 - i));
  b.set(tail, 14 + labels.length * 4);
  return b;
}

const innerEth = (dst0: number): number[] => {
  const b = new Uint8Array(14 + 20);
  writeEthernet(b, 0, 0x0200 | (dst0 << 8), 0x0000000b, 0x0200, 0x0000000a, 0x0800);
  writeIpv4(b, 14, 0, 20, 1, 0, 64, 253, 0xc6336401, 0xc6336402);
  return [...b];
};
const ipv4 = (): number[] => innerEth(0).slice(14);

function walk(b: Uint8Array, n = b.length): { names: string[]; stop: string; err: string | null; st: WalkState } {
  const st = new WalkState();
  walkFrame(b, 0, n, st);
  return { names: [...st.kind.subarray(0, st.count)].map((k) => LAYER_NAMES[k]), stop: STOP_REASONS[st.stop], err: walkErrorMessage(st), st };
}

const CASES: [string, Uint8Array, string[], string][] = [
  ['2 labels + control word + Ethernet', frame([16, 1000], [0, 0, 0, 7, ...innerEth(0)]), ['eth', 'mpls', 'mpls', 'pw-cw', 'eth', 'ipv4'], 'end'],
  ['1 label + IPv4', frame([17], ipv4()), ['eth', 'mpls', 'ipv4'], 'end'],
  ['no control word: Ethernet (first nibble not 0/1/4/6)', frame([18], innerEth(0xa8)), ['eth', 'mpls', 'eth', 'ipv4'], 'end'],
  ['PW associated channel (nibble 1): not decoded', frame([19], [0x10, 0, 0, 0x21, 1, 2, 3, 4]), ['eth', 'mpls'], 'unknown'],
  ['label stack with nothing behind it', frame([20, 21], []), ['eth', 'mpls', 'mpls'], 'end'],
];

t.test('label stacks and their payloads', async (t) => {
  for (const [what, b, names, stop] of CASES) {
    const w = walk(b);
    t.same(w.names, names, what);
    t.equal(w.stop, stop, `${what}: stop ${stop}`);
  }
  const j = JSON.parse(frameJson(CASES[0][1], walk(CASES[0][1]).st, 1, 0, 0, 1, 1)) as { layers: Record<string, unknown>[] };
  t.same(j.layers.slice(1, 4), [
    { proto: 'mpls', label: 16, tc: 0, bottom: false, ttl: 64 },
    { proto: 'mpls', label: 1000, tc: 1, bottom: true, ttl: 63 },
    { proto: 'pw-cw', flags: 0, frg: 0, length: 0, seq: 7 },
  ]);
  t.match(frameText(CASES[0][1], walk(CASES[0][1]).st, 1, 0, 0, 1, 1), /MPLS label 16 tc 0 ttl 64, MPLS label 1000 tc 1 \[S\] ttl 63, PW control word seq 7, 02:00:00:00:00:0a > 02:00:00:00:00:0b/);
});

t.test('a label stack cut anywhere: truncated mpls / pw-cw, never a throw; emitters = formatters', async (t) => {
  const b = CASES[0][1];
  const o = new ByteOut(1 << 14);
  let same = 0;
  for (let n = 15; n <= b.length; n++) {
    const w = walk(b, n);
    if (n < 18) t.equal(w.err, 'truncated mpls header at offset 14');
    if (n > 22 && n < 26) t.equal(w.err, 'truncated pw-cw header at offset 22');
    for (const [ref, emit] of [[frameJson, emitFrameJson], [frameText, emitFrameText]] as const) {
      emit(o, b, w.st, n, 1, 2, n, b.length);
      if (o.take().toString() === ref(b, w.st, n, 1, 2, n, b.length) + '\n') same++;
    }
  }
  t.equal(same, 2 * (b.length - 14));
  // A stack that never sets S: runs into the layer limit or the end, cleanly.
  const long = frame(Array.from({ length: 40 }, (_, i) => i + 16), []);
  for (let i = 0; i < 40; i++) long[14 + 4 * i + 2] &= 0xfe;
  const w = walk(long);
  t.equal(w.stop, 'layer-limit');
});

/** Public MPLS captures in ../shared/fixtures/external (any folder, "mpls" in the name), when that folder exists. */
function externalMpls(): string[] {
  if (!hasExternal) return [];
  const out: string[] = [];
  const walkDir = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walkDir(join(d, e.name));
      else if (/mpls/i.test(e.name) && /\.pcap(ng)?$/.test(e.name)) out.push(join(d, e.name));
    }
  };
  walkDir(external);
  return out;
}

// VTEPD_MPLS_CAPTURES=a.pcap:b.pcap points the test at other captures.
const ext = process.env.VTEPD_MPLS_CAPTURES ? process.env.VTEPD_MPLS_CAPTURES.split(':') : externalMpls();
t.test('public MPLS captures: label stacks and inner Ethernet as tshark reads them', {
  skip: !hasExternal && ext.length === 0 ? '../shared/fixtures/external absent' : ext.length === 0 ? 'no MPLS capture in ../shared/fixtures/external' : !haveTool('tshark') ? 'tshark not installed' : false,
}, async (t) => {
  for (const file of ext) {
    const d = await dissectLocal(file);
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-e', 'mpls.label', '-e', 'eth.src'], { encoding: 'utf8' });
    const rows = r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    t.equal(d.frames.length, rows.length, `${file}: frame count`);
    d.frames.forEach((f, i) => {
      const labels = f.layers.filter((l) => l.proto === 'mpls').map((l) => String(l.label)).join(',');
      t.equal(labels, rows[i]?.[0] ?? '', `${file} frame ${i + 1}: labels`);
      const macs = f.layers.filter((l) => l.proto === 'eth').map((l) => l.src as string).join(',');
      t.equal(macs, rows[i]?.[1] ?? '', `${file} frame ${i + 1}: Ethernet sources, inner included`);
    });
  }
});

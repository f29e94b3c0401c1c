/**
 * walkFrame decodes the common shapes of hot headers inline (DataView reads)
 * and leaves the rest to the codecs. This checks the inline paths against the
 * codecs themselves: after a walk, the state of each layer kind (last one of
 * that kind wins) must hold exactly what the codec decodes at that layer's
 * recorded offset and bound. Frames: the sample mix, every cut length, and
 * every byte of every sample set to 0x00 / 0xff / bit-flipped (which drives
 * frames through both the inline and the codec paths, errors included).
 */
import t from 'tap';
import { WalkState, walkFrame } from '../../src/dissect/walk.js';
import {
  LAYER_NAMES, L_ETH, L_VLAN, L_ARP, L_IPV4, L_IPV6, L_UDP, L_TCP, L_ICMP, L_ICMPV6, L_GRE, L_NVGRE, L_VXLAN, L_GENEVE, S_ERROR,
} from '../../src/dissect/layers.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { EthernetState, decodeEthernet } from '../../src/packet/ethernet.js';
import { VlanState, decodeVlan } from '../../src/packet/vlan.js';
import { ArpState, decodeArp } from '../../src/packet/arp.js';
import { Ipv4State, decodeIpv4 } from '../../src/packet/ipv4.js';
import { Ipv6State, decodeIpv6 } from '../../src/packet/ipv6.js';
import { UdpState, decodeUdp } from '../../src/packet/udp.js';
import { GreState, decodeGre } from '../../src/packet/gre.js';
import { NvgreState, decodeNvgre } from '../../src/packet/nvgre.js';
import { VxlanState, decodeVxlan } from '../../src/packet/vxlan.js';
import { GeneveState, decodeGeneve } from '../../src/packet/geneve.js';
import { TcpState, IcmpState, decodeTcp, decodeIcmp } from '../../src/packet/l4.js';

type Decode = (b: Uint8Array, off: number, end: number) => [object, number];
const codec: Record<number, [string, Decode]> = {
  [L_ETH]: ['eth', (b, o, e) => { const s = new EthernetState(); return [s, decodeEthernet(b, o, e, s)]; }],
  [L_VLAN]: ['vlan', (b, o, e) => { const s = new VlanState(); return [s, decodeVlan(b, o, e, s)]; }],
  [L_ARP]: ['arp', (b, o, e) => { const s = new ArpState(); return [s, decodeArp(b, o, e, s)]; }],
  [L_IPV4]: ['ip4', (b, o, e) => { const s = new Ipv4State(); return [s, decodeIpv4(b, o, e, s)]; }],
  [L_IPV6]: ['ip6', (b, o, e) => { const s = new Ipv6State(); return [s, decodeIpv6(b, o, e, s)]; }],
  [L_UDP]: ['udp', (b, o, e) => { const s = new UdpState(); return [s, decodeUdp(b, o, e, s)]; }],
  [L_GRE]: ['gre', (b, o, e) => { const s = new GreState(); return [s, decodeGre(b, o, e, s)]; }],
  [L_NVGRE]: ['nvgre', (b, o, e) => { const s = new NvgreState(); return [s, decodeNvgre(b, o, e, s)]; }],
  [L_VXLAN]: ['vxlan', (b, o, e) => { const s = new VxlanState(); return [s, decodeVxlan(b, o, e, s)]; }],
  [L_GENEVE]: ['geneve', (b, o, e) => { const s = new GeneveState(); return [s, decodeGeneve(b, o, e, s)]; }],
  [L_TCP]: ['tcp', (b, o, e) => { const s = new TcpState(); return [s, decodeTcp(b, o, e, s)]; }],
  [L_ICMP]: ['icmp', (b, o, e) => { const s = new IcmpState(); return [s, decodeIcmp(b, o, e, s)]; }],
  [L_ICMPV6]: ['icmp', (b, o, e) => { const s = new IcmpState(); return [s, decodeIcmp(b, o, e, s)]; }],
};

/**
 * Scalar fields, plus the first optCount GENEVE options. Stale by design, so
 * left out: later option slots, and LLC fields of an Ethernet II frame.
 */
function fields(s: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rec = s as Record<string, unknown>;
  const n = typeof rec.optCount === 'number' ? rec.optCount : 0;
  for (const [k, v] of Object.entries(rec)) {
    if (rec.length8023 === -1 && (k === 'dsap' || k === 'ssap' || k === 'control')) continue;
    if (ArrayBuffer.isView(v)) out[k] = Array.from((v as Uint8Array).subarray(0, n));
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

/** Mismatches between the walker's states and fresh codec decodes of its recorded layers. */
function check(b: Uint8Array, st: WalkState): string[] {
  const bad: string[] = [];
  const last = new Map<number, number>();
  for (let i = 0; i < st.count; i++) last.set(st.kind[i], i);
  for (const [k, i] of last) {
    // A later failing layer of the same kind overwrote the state (the codec did): not this layer's.
    if (st.stop === S_ERROR && st.errorKind === k) continue;
    const [name, dec] = codec[k];
    const [want, r] = dec(b, st.offset[i], st.end[i]);
    const nextOff = i + 1 < st.count ? st.offset[i + 1] : st.stopOffset;
    if (r <= 0 || st.offset[i] + r !== nextOff) bad.push(`${LAYER_NAMES[k]}#${i}: codec returned ${r}, walker went to ${nextOff - st.offset[i]}`);
    const got = fields((st as unknown as Record<string, object>)[name]);
    const exp = fields(want);
    if (JSON.stringify(got) !== JSON.stringify(exp)) bad.push(`${LAYER_NAMES[k]}#${i}: walker ${JSON.stringify(got)} codec ${JSON.stringify(exp)}`);
  }
  return bad;
}

const samples = sampleFrames();

t.test('inline decodes equal the codecs on the sample mix and every cut', (t) => {
  const st = new WalkState();
  let walks = 0;
  const bad: string[] = [];
  for (const s of samples) {
    for (let len = 0; len <= s.bytes.length; len++) {
      walkFrame(s.bytes, 0, len, st);
      walks++;
      for (const m of check(s.bytes, st)) bad.push(`${s.name} cut ${len}: ${m}`);
    }
  }
  t.same(bad.slice(0, 5), [], `${walks} walks`);
  t.end();
});

t.test('inline decodes equal the codecs with any byte set to 0x00, 0xff or bit-flipped', (t) => {
  const st = new WalkState();
  const bad: string[] = [];
  const kindsSeen = new Set<number>();
  let errors = 0;
  let walks = 0;
  for (const s of samples) {
    const b = new Uint8Array(s.bytes);
    for (let i = 0; i < b.length; i++) {
      const orig = b[i];
      for (const x of [0x00, 0xff, orig ^ 0x01, orig ^ 0x10, orig ^ 0x40, orig ^ 0x80]) {
        b[i] = x;
        walkFrame(b, 0, b.length, st);
        walks++;
        if (st.stop === S_ERROR) errors++;
        for (let j = 0; j < st.count; j++) kindsSeen.add(st.kind[j]);
        for (const m of check(b, st)) bad.push(`${s.name} byte ${i}=0x${x.toString(16)}: ${m}`);
      }
      b[i] = orig;
    }
  }
  t.same(bad.slice(0, 5), [], `${walks} walks, ${errors} ended in a decode error`);
  // The mutations must reach the codec-only kinds too, or this test proves less than it says.
  for (const k of [L_ETH, L_VLAN, L_IPV4, L_IPV6, L_UDP, L_VXLAN, L_GENEVE, L_TCP, L_NVGRE, L_GRE]) {
    t.ok(kindsSeen.has(k), `${LAYER_NAMES[k]} layers were walked`);
  }
  t.ok(errors > 100, 'many mutated frames fail to decode (the codec fallback paths ran)');
  t.end();
});

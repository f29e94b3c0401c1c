/**
 * Decap is the one classifier of tunnel frames, and its hot loop inlines the
 * VLAN tag walk and the IPv6 extension-header walk. This pins that inline copy
 * to the codecs, as test/dissect/walk-state.test.ts pins the walker's: random
 * frames (0-4 tags of 0x8100 / 0x88a8 / 0x9100, IPv4 or IPv6 with hop-by-hop,
 * routing, destination-options and fragment headers, VXLAN / GENEVE / NVGRE
 * or other traffic) go through DecapStage and through the dissect walker
 * (built on src/packet); the tunnel kind decap records in `flags` must be the
 * walker's first tunnel layer, and a decapsulated frame must start where the
 * walker's inner Ethernet layer does. Also the flow hash's inline walk: its
 * inner L3 offset must be the walker's first IP layer.
 */
import t from 'tap';
import { PacketBatch, PacketFlag, TUNNEL_KIND_SHIFT, TunnelKind } from '../../src/batch/packet-batch.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { flowHash, flowInfo } from '../../src/tunnel/flow-hash.js';
import { WalkState, walkFrame } from '../../src/dissect/walk.js';
import { L_ETH, L_GENEVE, L_IPV4, L_IPV6, L_NVGRE, L_VXLAN } from '../../src/dissect/layers.js';
import { internetChecksum } from '../../src/packet/checksum.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const TPIDS = [0x8100, 0x88a8, 0x9100];
const EXTS = [0, 43, 60, 44];
type Payload = 'vxlan' | 'geneve' | 'nvgre' | 'udp' | 'tcp';

function eth(out: number[], tags: number[], type: number): void {
  out.push(2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1);
  for (const tp of tags) out.push(tp >> 8, tp & 255, 0, 7);
  out.push(type >> 8, type & 255);
}

/** Outer Ethernet + tags + IP (+ IPv6 extension headers) + payload kind around an inner frame. */
function build(r: () => number, tags: number[], v6: boolean, exts: number[], payload: Payload, inner: number[]): Uint8Array {
  const proto = payload === 'nvgre' ? 47 : payload === 'tcp' ? 6 : 17;
  const l4: number[] = [];
  if (payload === 'nvgre') l4.push(0x20, 0, 0x65, 0x58, 0, 0, 100, 7, ...inner);
  else if (payload === 'tcp') l4.push(0x30, 0x39, 0, 80, ...new Array<number>(16).fill(0), ...inner);
  else {
    const dport = payload === 'vxlan' ? 4789 : payload === 'geneve' ? 6081 : 5000 + Math.floor(r() * 100);
    const tun = payload === 'vxlan' ? [8, 0, 0, 0, 0, 0, 100, 0] : payload === 'geneve' ? [0, 0, 0x65, 0x58, 0, 0, 100, 0] : [];
    const ulen = 8 + tun.length + inner.length;
    l4.push(0xc3, 0x50, dport >> 8, dport & 255, ulen >> 8, ulen & 255, 0, 0, ...tun, ...inner);
  }
  const out: number[] = [];
  eth(out, tags, v6 ? 0x86dd : 0x0800);
  if (!v6) {
    const ip = [0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
    const tl = 20 + l4.length;
    ip[2] = tl >> 8;
    ip[3] = tl & 255;
    const c = internetChecksum(Uint8Array.from(ip), 0, 20);
    ip[10] = c >> 8;
    ip[11] = c & 255;
    out.push(...ip, ...l4);
  } else {
    const chain: number[] = [];
    const nexts = [...exts, proto];
    for (let k = 0; k < exts.length; k++) chain.push(nexts[k + 1], 0, 0, 0, 0, 0, 0, 0); // 8 bytes; fragment: offset 0, M 0
    const pl = chain.length + l4.length;
    out.push(0x60, 0, 0, 0, pl >> 8, pl & 255, nexts[0], 64, 0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 1,
      0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 2, ...chain, ...l4);
  }
  return Uint8Array.from(out);
}

function innerFrame(r: () => number): number[] {
  const f: number[] = [];
  const tags = Array.from({ length: Math.floor(r() * 3) }, () => TPIDS[Math.floor(r() * 3)]);
  const v6 = r() < 0.5;
  eth(f, tags, v6 ? 0x86dd : 0x0800);
  if (!v6) f.push(0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0, 53, 0, 8, 0, 0);
  else f.push(0x60, 0, 0, 0, 0, 8, 17, 64, ...new Array<number>(15).fill(0), 1, ...new Array<number>(15).fill(0), 2, 0x30, 0x39, 0, 53, 0, 8, 0, 0);
  return f;
}

const WALK_KIND: Record<number, number> = { [L_VXLAN]: TunnelKind.VXLAN, [L_GENEVE]: TunnelKind.GENEVE, [L_NVGRE]: TunnelKind.NVGRE };

t.test('decap\'s tunnel kind and inner offset are the walker\'s, behind any tags and IPv6 extension headers', (t) => {
  const r = rng(20261205);
  const st = new WalkState();
  const decap = new DecapStage({ zeroCsum6Rx: true, keepOther: true });
  let compared = 0;
  let decapped = 0;
  const kinds = new Set<number>();
  for (let round = 0; round < 40; round++) {
    const b = new PacketBatch({ capacity: 64 });
    const frames: Uint8Array[] = [];
    for (let k = 0; k < 64; k++) {
      const tags = Array.from({ length: Math.floor(r() * 5) }, () => TPIDS[Math.floor(r() * 3)]);
      const v6 = r() < 0.5;
      const exts = v6 ? Array.from({ length: Math.floor(r() * 4) }, () => EXTS[Math.floor(r() * 4)]) : [];
      const payload = (['vxlan', 'geneve', 'nvgre', 'udp', 'tcp'] as const)[Math.floor(r() * 5)];
      const f = build(r, tags, v6, exts, payload, innerFrame(r));
      frames.push(f);
      b.append(f, 0, f.length, f.length, 0, 0);
    }
    decap.process(b);
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      walkFrame(f, 0, f.length, st);
      let tun = -1;
      for (let k = 0; k < st.count; k++) if (WALK_KIND[st.kind[k]] !== undefined) { tun = k; break; }
      const want = tun < 0 ? TunnelKind.NONE : WALK_KIND[st.kind[tun]];
      const got = (b.flags[i] & PacketFlag.TUNNEL_KIND) >> TUNNEL_KIND_SHIFT;
      compared++;
      kinds.add(got);
      if (got !== want) {
        t.fail(`frame ${round}/${i}: decap kind ${got}, walker kind ${want} (${Buffer.from(f).toString('hex')})`);
        return t.end();
      }
      if (b.drop[i] === 0 && (b.flags[i] & PacketFlag.DECAPPED) !== 0) {
        decapped++;
        const innerAt = st.kind[tun + 1] === L_ETH ? st.offset[tun + 1] : -1;
        const at = b.offset[i] - b.slotStart(i);
        if (at !== innerAt) {
          t.fail(`frame ${round}/${i}: decap inner frame at ${at}, walker's inner Ethernet at ${innerAt}`);
          return t.end();
        }
      }
    }
  }
  t.same([...kinds].sort(), [0, 1, 2, 3], 'every kind seen');
  t.ok(decapped > 500, `${decapped} of ${compared} frames decapsulated and compared`);
  t.end();
});

t.test('the flow hash\'s inline walk finds the inner L3 header where the walker does', (t) => {
  const r = rng(7);
  const st = new WalkState();
  for (let k = 0; k < 3000; k++) {
    const f = Uint8Array.from(innerFrame(r));
    flowHash(f, 0, f.length);
    walkFrame(f, 0, f.length, st);
    let ip = -1;
    for (let j = 0; j < st.count; j++) if (st.kind[j] === L_IPV4 || st.kind[j] === L_IPV6) { ip = st.offset[j]; break; }
    if (flowInfo[0] !== ip) {
      t.fail(`frame ${k}: flow hash L3 at ${flowInfo[0]}, walker at ${ip}`);
      return t.end();
    }
  }
  t.pass('3000 inner frames agree');
  t.end();
});

/**
 * walkFrame on frames built by the codecs' writers (src/dissect/templates.ts):
 * layer stacks, nested tunnels and the depth limit, extra ports, and a frame
 * cut at EVERY length: never a throw, the layers so far are a prefix of the
 * full walk, and a cut inside a header is reported as that header truncated.
 */
import t from 'tap';
import { WalkState, walkFrame, MAX_LAYERS } from '../../src/dissect/walk.js';
import { LAYER_NAMES, STOP_REASONS, S_END, S_ERROR, S_TUNNEL_LIMIT, S_UNKNOWN, S_FRAGMENT, S_LAYER_LIMIT, L_VLAN } from '../../src/dissect/layers.js';
import { sampleFrames } from '../../src/dissect/templates.js';
import { walkErrorMessage } from '../../src/dissect/describe.js';
import { frameJson } from '../../src/dissect/format-json.js';
import { DecodeError } from '../../src/packet/decode-error.js';
import { writeEthernet } from '../../src/packet/ethernet.js';
import { writeVlan } from '../../src/packet/vlan.js';
import { writeIpv4 } from '../../src/packet/ipv4.js';

const names = (st: WalkState): string => Array.from(st.kind.subarray(0, st.count), (k) => LAYER_NAMES[k]).join('/');
const samples = Object.fromEntries(sampleFrames().map((s) => [s.name, s.bytes]));

t.test('layer stacks of the sample mix', (t) => {
  const st = new WalkState();
  const want: Record<string, string> = {
    vxlan4: 'eth/ipv4/udp/vxlan/eth/ipv4/tcp',
    vxlan6: 'eth/ipv6/udp/vxlan/eth/ipv4/tcp',
    'geneve-opts': 'eth/ipv4/udp/geneve/eth/ipv4/tcp',
    nvgre: 'eth/ipv4/nvgre/eth/ipv4/tcp',
    vlan: 'eth/vlan/ipv4/tcp',
    qinq: 'eth/vlan/vlan/ipv4/tcp',
    plain: 'eth/ipv4/tcp',
    nested: 'eth/ipv4/udp/vxlan/eth/ipv4/udp/geneve/eth/ipv4/udp/vxlan/eth/ipv4/tcp',
  };
  for (const [name, stack] of Object.entries(want)) {
    const b = samples[name];
    walkFrame(b, 0, b.length, st);
    t.equal(names(st), stack, name);
    t.equal(STOP_REASONS[st.stop], 'end', `${name} stops at the end`);
    t.equal(st.tunnels, (stack.match(/vxlan|geneve|nvgre|gre/g) ?? []).length);
  }
  t.end();
});

t.test('offsets are relative to `off` and the walk works inside a larger buffer', (t) => {
  const st = new WalkState();
  const b = samples.vxlan4;
  const big = new Uint8Array(b.length + 100);
  big.set(b, 37);
  walkFrame(big, 37, b.length, st);
  t.equal(names(st), 'eth/ipv4/udp/vxlan/eth/ipv4/tcp');
  t.same(Array.from(st.offset.subarray(0, st.count), (o) => o - 37), [0, 14, 34, 42, 50, 64, 84]);
  const j = JSON.parse(frameJson(big, st, 1, 2, 3, b.length, b.length));
  t.equal(j.layers[3].vni, 5001);
  t.end();
});

t.test('tunnel depth limit stops the walk with a clear reason', (t) => {
  const b = samples.nested;
  for (const [max, layers] of [[0, 3], [1, 7], [2, 11], [3, 15]] as const) {
    const st = new WalkState({ maxTunnels: max });
    walkFrame(b, 0, b.length, st);
    t.equal(st.count, layers, `maxTunnels ${max}: ${layers} layers`);
    t.equal(st.stop, max < 3 ? S_TUNNEL_LIMIT : S_END);
    if (max < 3) t.match(walkErrorMessage(st), `tunnels nested deeper than ${max}`);
  }
  t.end();
});

t.test('cut at every length: prefix of the full walk, truncation named', (t) => {
  const st = new WalkState();
  let checked = 0;
  for (const [name, b] of Object.entries(samples)) {
    walkFrame(b, 0, b.length, st);
    const fullKinds = Array.from(st.kind.subarray(0, st.count));
    const fullOffs = Array.from(st.offset.subarray(0, st.count));
    // Where the last header ends: beyond it is TCP payload, not a header.
    const lastHeaderEnd = st.stopOffset;
    for (let len = 0; len < b.length; len++) {
      walkFrame(b, 0, len, st);
      const kinds = Array.from(st.kind.subarray(0, st.count));
      t.same(kinds, fullKinds.slice(0, st.count), `${name}/${len}: prefix`);
      t.same(Array.from(st.offset.subarray(0, st.count)), fullOffs.slice(0, st.count));
      if (len < lastHeaderEnd) {
        t.equal(st.stop, S_ERROR, `${name}/${len}: error`);
        t.equal(st.error, DecodeError.truncated);
        // Under 4 bytes of an NVGRE header cannot be told from plain GRE.
        const want = LAYER_NAMES[fullKinds[st.count]] === 'nvgre' && len - fullOffs[st.count] < 4 ? 'gre' : LAYER_NAMES[fullKinds[st.count]];
        t.equal(LAYER_NAMES[st.errorKind], want, `${name}/${len}: names the cut header`);
        t.equal(st.stopOffset, fullOffs[st.count], 'at its offset');
      } else {
        t.equal(st.stop, S_END, `${name}/${len}: only payload cut`);
        t.equal(st.count, fullKinds.length);
      }
      checked++;
    }
  }
  t.ok(checked > 1000);
  t.end();
});

t.test('Ethernet padding is not parsed; unknown protocols and later fragments stop cleanly', (t) => {
  const st = new WalkState();
  // ARP inside a 60-byte frame: 18 bytes of padding after the 28-byte body.
  const b = new Uint8Array(60);
  writeEthernet(b, 0, 0xffff, 0xffffffff, 0x0200, 1, 0x0806);
  b.set([0, 1, 8, 0, 6, 4, 0, 1], 14);
  walkFrame(b, 0, 60, st);
  t.equal(names(st), 'eth/arp');
  t.equal(st.stop, S_END);
  // IPv4 with total length 20 + 8 UDP, padded to 60: UDP length bounded by IP.
  writeEthernet(b, 0, 0x0200, 2, 0x0200, 1, 0x0800);
  writeIpv4(b, 14, 0, 28, 1, 0, 64, 17, 1, 2);
  b.set([0x12, 0x34, 0x12, 0xb5, 0, 8, 0, 0], 34); // dport 4789 but no payload
  walkFrame(b, 0, 60, st);
  t.equal(names(st), 'eth/ipv4/udp', 'padding is not read as VXLAN');
  t.equal(st.stop, S_END);
  // Later IPv4 fragment.
  writeIpv4(b, 14, 0, 46, 1, 0x0010, 64, 17, 1, 2);
  walkFrame(b, 0, 60, st);
  t.equal(names(st), 'eth/ipv4');
  t.equal(st.stop, S_FRAGMENT);
  // Unknown ethertype.
  writeEthernet(b, 0, 0x0200, 2, 0x0200, 1, 0x88cc);
  walkFrame(b, 0, 60, st);
  t.equal(names(st), 'eth');
  t.equal(st.stop, S_UNKNOWN);
  t.end();
});

t.test('a VLAN stack deeper than the layer array stops with layer-limit', (t) => {
  const st = new WalkState();
  const b = new Uint8Array(14 + 4 * 40 + 20);
  writeEthernet(b, 0, 0x0200, 2, 0x0200, 1, 0x8100);
  for (let i = 0; i < 40; i++) writeVlan(b, 14 + 4 * i, 0, 0, i + 1, 0x8100);
  walkFrame(b, 0, b.length, st);
  t.equal(st.count, MAX_LAYERS);
  t.equal(st.stop, S_LAYER_LIMIT);
  t.ok(Array.from(st.kind.subarray(1, MAX_LAYERS)).every((k) => k === L_VLAN));
  t.match(walkErrorMessage(st), /more than 32 layers/);
  t.end();
});

t.test('bad ports are refused', (t) => {
  t.throws(() => new WalkState({ vxlanPorts: [0] }));
  t.throws(() => new WalkState({ genevePorts: [65536] }));
  t.end();
});

t.test('the walk allocates nothing per frame', (t) => {
  const st = new WalkState();
  const list = sampleFrames().map((s) => s.bytes);
  for (let i = 0; i < 100000; i++) walkFrame(list[i & 7], 0, list[i & 7].length, st); // warm up the JIT
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1000000; i++) walkFrame(list[i & 7], 0, list[i & 7].length, st);
  const grown = process.memoryUsage().heapUsed - h0;
  // Even 16 bytes per frame would be 16 MB; the loop is synchronous, so nothing else runs.
  t.ok(grown < 2 * 1024 * 1024, `heap grew ${grown} bytes over 1,000,000 walks`);
  t.end();
});

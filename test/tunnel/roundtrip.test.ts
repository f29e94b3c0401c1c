/**
 * decap(encap(x)) == x byte for byte, for every frame of every project fixture
 * (fixtures/*.pcap*) and of the external Ethernet captures, for VXLAN, GENEVE
 * (with options) and NVGRE, IPv4 and IPv6 outer (one IPv4 case VLAN-tagged with
 * the UDP checksum on). In-memory batches through the two stages; the decap
 * metadata must name the encap's VNI, remote address and entropy.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PacketBatch, PacketFlag } from '../../src/batch/packet-batch.js';
import { EncapStage } from '../../src/tunnel/encap.js';
import { DecapStage } from '../../src/tunnel/decap.js';
import { dropReason } from '../../src/tunnel/drop-reasons.js';
import { openCapture } from '../../src/capture/index.js';
import type { EncapConfig } from '../../src/tunnel/tunnel-config.js';

const repoFixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const external = fileURLToPath(new URL('../../../shared/fixtures/external/', import.meta.url));

function listCaptures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listCaptures(p));
    else if (/\.pcap(ng)?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

interface Frames { name: string; frames: Uint8Array[] }

/** Every readable Ethernet capture; files the reader refuses (corrupt on purpose, other link types) are skipped. */
function load(paths: string[]): Frames[] {
  const res: Frames[] = [];
  for (const p of paths) {
    const frames: Uint8Array[] = [];
    try {
      const r = openCapture(p);
      try {
        for (let rec = r.next(); rec !== null; rec = r.next()) frames.push(rec.data.slice(rec.offset, rec.offset + rec.caplen));
      } finally {
        r.close();
      }
    } catch {
      if (frames.length === 0) continue;
    }
    if (frames.length) res.push({ name: p, frames });
  }
  return res;
}

const own = listCaptures(repoFixtures);
const ext = listCaptures(external);
const sets = load([...own, ...ext]);

const base = { vni: 0xabcdef, mtu: 65535 };
const configs: [string, EncapConfig][] = [
  ['vxlan ip4', { ...base, type: 'vxlan', local: '192.0.2.1', remotes: [{ ip: '198.51.100.7' }] }],
  ['vxlan ip4 vlan udp-csum', { ...base, type: 'vxlan', local: '192.0.2.1', remotes: [{ ip: '198.51.100.7' }], vlan: 300, udpCsum: true, copyDscp: true }],
  ['vxlan ip6', { ...base, type: 'vxlan', local: '2001:db8::1', remotes: [{ ip: '2001:db8:ffff::7' }] }],
  ['geneve ip4 options', { ...base, type: 'geneve', local: '192.0.2.1', remotes: [{ ip: '198.51.100.7' }], geneveOptions: [{ optClass: 0x0102, type: 0x80, data: Uint8Array.of(1, 2, 3, 4) }, { optClass: 0xffff, type: 3, data: new Uint8Array(0) }] }],
  ['geneve ip6', { ...base, type: 'geneve', local: '2001:db8::1', remotes: [{ ip: '2001:db8:ffff::7' }] }],
  ['nvgre ip4', { ...base, type: 'nvgre', local: '192.0.2.1', remotes: [{ ip: '198.51.100.7' }] }],
  ['nvgre ip6 fixed flowid', { ...base, type: 'nvgre', local: '2001:db8::1', remotes: [{ ip: '2001:db8:ffff::7' }], flowId: 9 }],
];

t.test('there is something to round-trip', (t) => {
  if (own.length === 0) t.comment('fixtures/ has no captures yet: external captures only');
  t.ok(sets.length > 0 || !existsSync(external), 'captures found');
  t.end();
});

for (const [label, cfg] of configs) {
  t.test(label, { skip: sets.length === 0 ? 'no captures (fixtures/ empty and ../shared absent)' : false }, (t) => {
    const enc = new EncapStage(cfg);
    // Known-critical option configured so the GENEVE critical option above is accepted.
    const dec = new DecapStage({ geneveKnownOptions: [{ optClass: 0x0102, type: 0x80 }] });
    const batch = new PacketBatch({ capacity: 64, headroom: 384, dataRoom: 65535 });
    let frames = 0;
    let mismatches = 0;
    let tooShort = 0;
    for (const set of sets) {
      for (let k = 0; k < set.frames.length; k += batch.capacity) {
        const chunk = set.frames.slice(k, k + batch.capacity);
        batch.clear();
        for (const f of chunk) batch.append(f, 0, f.length, f.length, 0, 0);
        enc.process(batch);
        for (let i = 0; i < batch.count; i++) {
          if (batch.drop[i] !== 0) {
            // Only frames too short to carry an Ethernet header may be refused.
            if (dropReason(batch.drop[i]) === 'inner-too-short' && chunk[i].length < 14) tooShort++;
            else t.fail(`${set.name} #${k + i}: encap dropped ${dropReason(batch.drop[i])}`);
          }
        }
        const entropy = batch.entropy.slice(0, batch.count);
        dec.process(batch);
        for (let i = 0; i < batch.count; i++) {
          if (chunk[i].length < 14) continue;
          frames++;
          const ok =
            batch.drop[i] === 0 &&
            Buffer.compare(batch.frame(i), chunk[i]) === 0 &&
            batch.vni[i] === cfg.vni &&
            (batch.flags[i] & PacketFlag.DECAPPED) !== 0 &&
            batch.entropy[i] === entropy[i] &&
            batch.remoteAddr[i * 4] === (cfg.local.includes(':') ? 0x20010db8 : 0xc0000201);
          if (!ok && mismatches++ < 5) t.fail(`${set.name} #${k + i}: round trip differs (drop ${dropReason(batch.drop[i])})`);
        }
      }
    }
    t.equal(mismatches, 0, `${frames} frames from ${sets.length} captures round-trip byte for byte`);
    t.equal(enc.counters.totalDrops(), tooShort, 'encap drops only sub-Ethernet frames');
    t.ok(frames > 100, `enough frames exercised (${frames})`);
    t.end();
  });
}

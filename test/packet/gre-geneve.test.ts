/**
 * GRE in every C/K/S combination and GENEVE options, against scapy's bytes;
 * GENEVE option lengths that run past the header must be an error.
 */
import t from 'tap';
import { scapyVectors, hexBytes, toHex } from './scapy-oracle.js';
import { DecodeError } from '../../src/packet/decode-error.js';
import { GreState, decodeGre, writeGre, greFillChecksum, greHeaderLength } from '../../src/packet/gre.js';
import { GeneveState, decodeGeneve, writeGeneve, writeGeneveOption } from '../../src/packet/geneve.js';
import { checksumVerifies } from '../../src/packet/checksum.js';

const V = scapyVectors();
const skip = V === null ? 'scapy (/usr/bin/python3) not available' : false;

t.test('gre: all 8 C/K/S combinations', { skip }, (t) => {
  const s = new GreState();
  for (const c of [0, 1]) for (const k of [0, 1]) for (const q of [0, 1]) {
    const name = `gre${c}${k}${q}`;
    const b = hexBytes(V![name].hex);
    const hl = greHeaderLength(!!c, !!k, !!q);
    t.equal(decodeGre(b, 0, b.length, s), hl, `${name} length`);
    t.same(
      [s.checksumPresent, s.keyPresent, s.seqPresent, s.protocol, s.key, s.seq, s.version],
      [!!c, !!k, !!q, 0x86dd, k ? 0x89abcdef : 0, q ? 0x01020304 : 0, 0],
      `${name} fields`,
    );
    if (c) t.ok(checksumVerifies(b, 0, b.length), `${name} scapy checksum verifies`);
    // Writer + checksum fill reproduce scapy's bytes exactly.
    const w = new Uint8Array(b.length);
    t.equal(writeGre(w, 0, 0x86dd, !!c, !!k, 0x89abcdef, !!q, 0x01020304), hl);
    w.set(b.subarray(hl), hl);
    if (c) greFillChecksum(w, 0, w.length);
    t.equal(toHex(w), toHex(b), `${name} writer = scapy`);
    for (let cut = 0; cut < hl; cut++) t.equal(decodeGre(b, 0, cut, s), DecodeError.truncated, `${name} cut at ${cut}`);
  }
  const r = hexBytes(V!.gre000.hex);
  r[0] |= 0x40;
  t.equal(decodeGre(r, 0, r.length, s), DecodeError['bad-flags'], 'R (source routing) refused');
  const v1 = hexBytes(V!.gre010.hex);
  v1[1] |= 1;
  t.equal(decodeGre(v1, 0, v1.length, s), DecodeError['bad-version'], 'version 1 (PPTP) refused');
  t.end();
});

t.test('geneve: O and C bits, protocol, every option TLV', { skip }, (t) => {
  const b = hexBytes(V!.geneve.hex);
  const s = new GeneveState();
  t.equal(decodeGeneve(b, 0, b.length, s), b.length);
  t.same([s.version, s.oam, s.critical, s.protocol, s.vni, s.optLength, s.optCount, s.criticalOptCount],
    [0, 1, 1, 0x0800, 0xabcd, 12 + 4 + 16, 3, 1]);
  t.same(Array.from(s.optClass.subarray(0, 3)), [0x0102, 0xffff, 0x0103]);
  t.same(Array.from(s.optType.subarray(0, 3)), [0x80, 0x05, 0x7f]);
  t.same(Array.from(s.optDataLength.subarray(0, 3)), [8, 0, 12]);
  t.same(Array.from(s.optDataOffset.subarray(0, 3)), [12, 24, 28]);
  t.equal(toHex(b, s.optDataOffset[0], 8), '0102030405060708');

  // Writer: options built once, then the header; = scapy.
  const opts = new Uint8Array(64);
  let o = writeGeneveOption(opts, 0, 0x0102, 0x80, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 0, 8);
  o += writeGeneveOption(opts, o, 0xffff, 0x05, null, 0, 0);
  o += writeGeneveOption(opts, o, 0x0103, 0x7f, null, 0, 12);
  const w = new Uint8Array(8 + o);
  t.equal(writeGeneve(w, 0, 0xabcd, 0x0800, 1, 1, opts, 0, o), b.length);
  t.equal(toHex(w), toHex(b));

  const z = hexBytes(V!.geneve0.hex);
  t.equal(decodeGeneve(z, 0, z.length, s), 8);
  t.same([s.optCount, s.oam, s.critical, s.protocol, s.vni], [0, 0, 0, 0x6558, 1]);
  t.end();
});

t.test('geneve: bad option lengths, truncation, version', (t) => {
  const s = new GeneveState();
  const opts = new Uint8Array(16);
  writeGeneveOption(opts, 0, 0x0001, 0x01, null, 0, 4);
  writeGeneveOption(opts, 8, 0x0002, 0x02, null, 0, 4);
  const b = new Uint8Array(24);
  writeGeneve(b, 0, 7, 0x6558, 0, 0, opts, 0, 16);
  t.equal(decodeGeneve(b, 0, 24, s), 24);
  t.equal(s.optCount, 2);

  const over = b.slice();
  over[8 + 8 + 3] = 2; // second option claims 8 data bytes, only 4 left in the header
  t.equal(decodeGeneve(over, 0, over.length, s), DecodeError['bad-option-length']);
  const huge = b.slice();
  huge[11] = 0x1f; // first option claims 124 bytes
  t.equal(decodeGeneve(huge, 0, huge.length, s), DecodeError['bad-option-length']);
  const half = b.slice();
  half[0] = 3; // Opt Len 12 bytes: header ends at byte 20
  half[11] = 3; // first option: 12 data bytes -> ends at 24, past the header (though inside the frame)
  t.equal(decodeGeneve(half, 0, half.length, s), DecodeError['bad-option-length']);
  half[11] = 2; // 8 data bytes: ends exactly at 20, fine
  t.equal(decodeGeneve(half, 0, half.length, s), 20);
  t.equal(s.optCount, 1);
  const tail = b.slice();
  tail[0] = 3; tail[11] = 1; tail[8 + 8 + 3] = 0; // 8-byte option, then 4 bytes: a 4-byte TLV header with no data
  t.equal(decodeGeneve(tail, 0, tail.length, s), 20);
  t.equal(s.optCount, 2);

  for (let cut = 0; cut < 24; cut++) t.equal(decodeGeneve(b, 0, cut, s), DecodeError.truncated, `cut at ${cut}`);
  const v1 = b.slice();
  v1[0] |= 0x40;
  t.equal(decodeGeneve(v1, 0, v1.length, s), DecodeError['bad-version']);
  t.equal(s.version, 1, 'fixed header still reported');
  t.equal(s.vni, 7);
  t.end();
});

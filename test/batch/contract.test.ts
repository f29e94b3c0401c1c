/**
 * The drop registry, the stage counts convention and the generated TS↔C
 * contract (src/native/contract.ts): the lists agree with the classes they
 * describe, the header is plain C (a C compiler and clang -target bpf accept
 * it), and the built header is what TypeScript renders now.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_FIELDS, PacketBatch } from '../../src/batch/packet-batch.js';
import { DROP_CODES, DROP_REASONS, DropCode, dropReasonName } from '../../src/batch/drop-reasons.js';
import { COUNTS_DROPS, COUNTS_EXTRA, COUNTS_IN, COUNTS_LEN, COUNTS_OUT, StageCounters } from '../../src/batch/stage.js';
import { BATCH_CONTRACT } from '../../src/batch/contract.js';
import { L2_CONTRACT } from '../../src/l2/contract.js';
import { renderContractHeader, sectionHash } from '../../src/native/contract.js';
import { TunnelDrop } from '../../src/tunnel/drop-reasons.js';
import { Drop } from '../../src/l2/counters.js';
import { PortDrop } from '../../src/ports/counters.js';

const TYPED: Record<string, new (n: number) => ArrayLike<number>> = {
  uint8_t: Uint8Array, uint16_t: Uint16Array, uint32_t: Uint32Array, int32_t: Int32Array, double: Float64Array,
};

t.test('BATCH_FIELDS is exactly the per-packet arrays of a PacketBatch', (t) => {
  const b = new PacketBatch({ capacity: 7 });
  for (const [name, ctype, per] of BATCH_FIELDS) {
    const a = (b as unknown as Record<string, unknown>)[name];
    t.ok(a instanceof TYPED[ctype], `${name} is a ${TYPED[ctype].name} (${ctype})`);
    t.equal((a as ArrayLike<number>).length, 7 * per, `${name}: ${per} per packet`);
  }
  const listed = new Set<string>(BATCH_FIELDS.map((f) => f[0]));
  const arrays = Object.entries(b).filter(([k, v]) => ArrayBuffer.isView(v) && k !== 'data' && k !== 'view').map(([k]) => k);
  t.same(arrays.filter((k) => !listed.has(k)), [], 'no per-packet array missing from the list (C would not see it)');
  t.end();
});

t.test('one registry: each section exports the registry codes, codes are unique and fit batch.drop', (t) => {
  t.equal(new Set(Object.values(DropCode)).size, DROP_REASONS.length);
  t.ok(DROP_CODES <= 256);
  for (const [name, code] of [...Object.entries(TunnelDrop), ...Object.entries(Drop), ...Object.entries(PortDrop)]) {
    t.equal(code, DropCode[name as keyof typeof DropCode], `${name}`);
    t.equal(dropReasonName(code), name);
  }
  t.equal(dropReasonName(0), undefined, '0 = alive');
  t.equal(Object.keys(TunnelDrop).length + Object.keys(Drop).length + Object.keys(PortDrop).length, DROP_REASONS.length, 'every reason in one section');
  t.end();
});

t.test('StageCounters drains a native counts array (COUNTS_* layout) and zeroes it', (t) => {
  const c = new StageCounters('extra-name');
  const counts = new Uint32Array(COUNTS_LEN);
  counts[COUNTS_IN] = 10;
  counts[COUNTS_OUT] = 7;
  counts[COUNTS_EXTRA] = 2;
  counts[COUNTS_DROPS + TunnelDrop['mtu-exceeded']] = 3;
  c.drain(counts);
  c.drain(counts);
  t.same([c.inFrames, c.outFrames, c.extra, c.drops[TunnelDrop['mtu-exceeded']], c.totalDrops()], [10, 7, 2, 3, 3]);
  t.same(Array.from(counts), new Array<number>(COUNTS_LEN).fill(0), 'zeroed');
  t.same(c.snapshot(), { 'in-frames': 10, 'out-frames': 7, 'extra-name': 2, 'drop-mtu-exceeded': 3 });
  t.end();
});

const header = renderContractHeader([BATCH_CONTRACT, L2_CONTRACT], 'scripts/gen-contract.ts');

t.test('the header is plain C: a C99 compiler and clang -target bpf take it, the values are the TS ones', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-contract-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'contract.h'), header);
  // Include twice (guard), expand the field table, print a few values.
  writeFileSync(join(dir, 'main.c'), [
    '#include <stdio.h>', '#include <stdint.h>', '#include "contract.h"', '#include "contract.h"',
    '#define SIZE(name, type, per) + sizeof(type) * (per)',
    'int main(void) { printf("%d %d %d %d %d %d\\n", VTEPD_DROP_TUNNEL_TYPE_MISMATCH, VTEPD_DROP_CODES, VTEPD_COUNTS_LEN,',
    '  (int)(0 VTEPD_BATCH_FIELDS(SIZE)), VTEPD_FLAG_TUNNEL_KIND, VTEPD_MAC_PLACE_MASK); return 0; }', ''].join('\n'));
  try {
    execFileSync('cc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-pedantic', '-o', join(dir, 'main'), join(dir, 'main.c')], { stdio: 'pipe' });
  } catch (e) {
    t.fail(`cc refused the header: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
    t.end();
    return;
  }
  const bytes = BATCH_FIELDS.reduce((a, [, ctype, per]) => a + (TYPED[ctype] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT * per, 0);
  t.equal(execFileSync(join(dir, 'main'), { encoding: 'utf8' }).trim(),
    `${TunnelDrop['tunnel-type-mismatch']} ${DROP_CODES} ${COUNTS_LEN} ${bytes} 48 ${0x3fffff}`, 'C sees the TypeScript values');
  let clang = true;
  try { execFileSync('clang', ['--version'], { stdio: 'ignore' }); } catch { clang = false; }
  if (clang) {
    writeFileSync(join(dir, 'prog.c'), '#include "contract.h"\nint codes = VTEPD_DROP_CODES + VTEPD_FLAG_DECAPPED + VTEPD_ACTION_FLOOD;\n');
    t.doesNotThrow(() => execFileSync('clang', ['-target', 'bpf', '-O2', '-Wall', '-Werror', '-c', join(dir, 'prog.c'), '-o', join(dir, 'prog.o')], { stdio: 'pipe' }), 'eBPF C includes it');
  }
  t.notMatch(header, /#include|namespace|constexpr|template/, 'no includes, no C++');
  t.end();
});

t.test('the built header (npm run build) is what TypeScript renders now', (t) => {
  const built = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'native-bindings', 'src', 'generated', 'contract.h');
  if (!existsSync(built)) {
    t.skip('not built');
    t.end();
    return;
  }
  t.equal(readFileSync(built, 'utf8'), header);
  t.match(header, new RegExp(`VTEPD_CONTRACT_BATCH_HASH "${sectionHash(BATCH_CONTRACT)}"`));
  t.end();
});

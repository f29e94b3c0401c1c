/**
 * Build step (`npm run build`, before node-gyp): writes
 * native-bindings/src/generated/contract.h from the TypeScript lists (see
 * src/native/contract.ts). Rewrites the file only when its text changes, so
 * an unchanged contract does not recompile the addon.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderContractHeader } from '../src/native/contract.js';
import { BATCH_CONTRACT } from '../src/batch/contract.js';
import { L2_CONTRACT } from '../src/l2/contract.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = join(root, 'native-bindings', 'src', 'generated', 'contract.h');
const text = renderContractHeader([BATCH_CONTRACT, L2_CONTRACT], 'scripts/gen-contract.ts');
let old = '';
try { old = readFileSync(out, 'utf8'); } catch { /* first build */ }
if (old !== text) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, text);
  renameSync(`${out}.tmp`, out);
  console.log(`gen-contract: wrote ${out}`);
}

/**
 * docs/config-reference.md names every key of the `vtepd run` config schema: a
 * key added to src/config/config-schema.ts without a line in the reference fails
 * here. (The `afpacket` block went undocumented this way until this test.)
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { configSchema } from '../../src/config/config-schema.js';

interface SchemaNode { properties?: Record<string, SchemaNode>; items?: SchemaNode; oneOf?: SchemaNode[]; anyOf?: SchemaNode[] }

/** Every property name in the schema, with the path it was found at. */
function keys(node: SchemaNode, path: string, out: Map<string, string>): Map<string, string> {
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    if (!out.has(k)) out.set(k, path ? `${path}.${k}` : k);
    keys(v, path ? `${path}.${k}` : k, out);
  }
  if (node.items) keys(node.items, `${path}[]`, out);
  for (const alt of [...(node.oneOf ?? []), ...(node.anyOf ?? [])]) keys(alt, path, out);
  return out;
}

const doc = readFileSync(new URL('../../docs/config-reference.md', import.meta.url), 'utf8');
const all = keys(configSchema as SchemaNode, '', new Map());

t.ok(all.size > 40, `the walk found the schema's keys (${all.size})`);
t.ok(all.has('busyPollUs') && all.has('txRing'), 'nested blocks are walked');
/** Documented as `key`, or `parent.key` as in the control/metrics/evpn tables. */
const documented = (k: string, path: string): boolean => {
  const parent = path.replace(/\[\]/g, '').split('.').slice(-2).join('.');
  return doc.includes(`\`${k}\``) || doc.includes(`\`${parent}\``);
};
const missing = [...all].filter(([k, path]) => !documented(k, path)).map(([, path]) => path);
t.same(missing, [], 'every config key appears in docs/config-reference.md as `key` or `parent.key`');

/**
 * Load, validate and normalise a `vtepd run` config (YAML or JSON).
 * Every problem names its key path the way a user would write it
 * (`networks[1].vni: must be <= 16777215`), and all problems are reported at once.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, DEFAULT_UDP_PORT, type VtepdConfig } from './config-schema.js';
import { runPlanProblems } from '../pipeline/run-plan.js';
import { unicastMacProblem } from '../l2/mac-text.js';
import { evpnProblems } from './evpn-config.js';

/** Largest config file read; a longer one is refused after reading this many bytes + 1. */
export const MAX_CONFIG_BYTES = 4 << 20;
/** Deepest nesting accepted (a vtepd config is 5 levels deep): anything deeper is refused before validation recurses into it. */
export const MAX_CONFIG_DEPTH = 32;

export class ConfigError extends Error {
  constructor(readonly source: string, readonly issues: string[]) {
    super(`invalid config ${source}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true });
const validate = ajv.compile(configSchema);

/** `/networks/1/vni` → `networks[1].vni`. */
export function keyPath(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return `${keyPath(e.instancePath, String(p.missingProperty))}: is required`;
    case 'additionalProperties': return `${keyPath(e.instancePath, String(p.additionalProperty))}: unknown key`;
    case 'enum': return `${keyPath(e.instancePath)}: must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minItems': return `${keyPath(e.instancePath)}: needs at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'pattern': {
      const hint = /\{2\}\(:/.test(String(p.pattern)) ? 'must be a MAC address like 02:00:00:00:00:01'
        : /\{8\}/.test(String(p.pattern)) ? 'must be hex, a multiple of 4 bytes, at most 124 bytes'
        : `must match ${String(p.pattern)}`;
      return `${keyPath(e.instancePath)}: ${hint}`;
    }
    default: return `${keyPath(e.instancePath)}: ${e.message ?? e.keyword}`;
  }
}

/** Parse text as YAML (a superset of JSON) or, for `.json` names, as strict JSON. */
export function parseConfigText(text: string, source: string): unknown {
  let doc: unknown;
  try {
    doc = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    if (/Maximum call stack/.test((err as Error).message)) throw tooDeep(source);
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      // The library ends its first line with the same position: say it once.
      const what = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new ConfigError(source, [`YAML syntax error${where}: ${what}`]);
    }
    throw new ConfigError(source, [`syntax error: ${(err as Error).message}`]);
  }
  return doc;
}

function tooDeep(source: string): ConfigError {
  return new ConfigError(source, [`(top level): nested more than ${MAX_CONFIG_DEPTH} levels deep; a vtepd config is a few levels of mappings and lists`]);
}

/** Nesting depth of a parsed document, counted without recursion and no further than `limit` + 1. */
function depthOf(doc: unknown, limit: number): number {
  let max = 0;
  const stack: [unknown, number][] = [[doc, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Object.values(v as Record<string, unknown>)) stack.push([c, d + 1]);
  }
  return max;
}

/** Validate a parsed document; returns the normalised config (defaults filled) or throws ConfigError. */
export function validateConfig(doc: unknown, source = 'config'): VtepdConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, ['(top level): must be a mapping with underlay, ports and networks']);
  }
  // structuredClone and ajv recurse: a 100k-deep document would overflow the stack in them.
  if (depthOf(doc, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) throw tooDeep(source);
  const cfg = structuredClone(doc) as VtepdConfig;
  if (!validate(cfg)) {
    const seen = new Set<string>();
    const issues = (validate.errors ?? []).map(describe).filter((m) => !seen.has(m) && seen.add(m));
    throw new ConfigError(source, issues);
  }
  const issues = crossCheck(cfg);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return cfg;
}

export function loadConfig(file: string): VtepdConfig {
  return validateConfig(parseConfigText(readConfigFile(file), file), file);
}

/**
 * The text of a config file, read without ever blocking or reading without
 * bound: opened non-blocking (a FIFO would otherwise wait in open() for a
 * writer), regular files only (fstat: no FIFO, device, directory or socket),
 * at most MAX_CONFIG_BYTES + 1 bytes read.
 */
export function readConfigFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new ConfigError(file, [`cannot read file: ${openError(err as NodeJS.ErrnoException)}`]);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(file, [`not a regular file (${fileKind(st)}); vtepd reads its config from regular files only`]);
    const tooBig = (): ConfigError => new ConfigError(file, [`file is larger than ${MAX_CONFIG_BYTES >> 20} MiB`]);
    if (st.size > MAX_CONFIG_BYTES) throw tooBig();
    const buf = Buffer.allocUnsafe(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > MAX_CONFIG_BYTES) throw tooBig(); // grew after the fstat
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [`cannot read file: ${(err as Error).message}`]);
  } finally {
    closeSync(fd);
  }
}

function openError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file';
    case 'ENXIO': return 'not a regular file (a socket); vtepd reads its config from regular files only';
    case 'EACCES': return 'permission denied';
    case 'ELOOP': return 'too many levels of symbolic links';
    default: return e.message;
  }
}

function fileKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/** Parse `host:port` / `[v6]:port` (metrics.listen). Returns null when malformed. */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]]+):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1], port };
}

/** AF_XDP: one socket per interface (ports on it share it), one filter with at most 8 tunnel UDP ports. */
function afxdpProblems(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  if (cfg.underlay.afxdp !== undefined && cfg.underlay.transport !== 'afxdp') out.push('underlay.afxdp: only for transport afxdp');
  const first = new Map<string, number>();
  cfg.ports.forEach((p, i) => {
    if (p.backend !== 'afxdp' || !p.interface) return;
    const j = first.get(p.interface);
    if (j === undefined) first.set(p.interface, i);
    else if (JSON.stringify(p.afxdp ?? {}) !== JSON.stringify(cfg.ports[j].afxdp ?? {})) {
      out.push(`ports[${i}].afxdp: ports on one interface share its AF_XDP socket: use the same afxdp options as ports[${j}]`);
    }
  });
  if (cfg.underlay.transport === 'afxdp') {
    const udp = new Set(cfg.networks.filter((n) => n.type !== 'nvgre').map((n) => n.udpPort ?? DEFAULT_UDP_PORT[n.type]));
    if (udp.size > 8) out.push(`underlay.transport: afxdp filters at most 8 tunnel UDP ports (the networks use ${udp.size})`);
  }
  return out;
}

/** What JSON Schema cannot say: names that refer to each other, address families, uniqueness. */
function crossCheck(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  const fam = isIP(cfg.underlay.address);
  if (fam === 0) out.push('underlay.address: must be an IPv4 or IPv6 address');

  const portIdx = new Map<string, number>();
  const ifVlan = new Map<string, number>();
  cfg.ports.forEach((p, i) => {
    const at = `ports[${i}]`;
    if (portIdx.has(p.name)) out.push(`${at}.name: duplicate port name "${p.name}" (also ports[${portIdx.get(p.name)}])`);
    else portIdx.set(p.name, i);
    if (p.backend === 'pcap') {
      if (!p.readFile && !p.writeFile) out.push(`${at}: a pcap port needs readFile and/or writeFile`);
    } else {
      if (!p.interface) out.push(`${at}.interface: is required for backend ${p.backend}`);
      if (p.readFile || p.writeFile) out.push(`${at}: readFile/writeFile are only for backend pcap`);
    }
    if (p.filter !== undefined && p.backend !== 'cap') out.push(`${at}.filter: BPF filters need backend cap`);
    if (p.afxdp !== undefined && p.backend !== 'afxdp') out.push(`${at}.afxdp: only for backend afxdp`);
    if (p.interface && p.interface === cfg.underlay.interface) {
      out.push(`${at}.interface: "${p.interface}" is the underlay interface`);
    }
    if (p.interface) {
      const k = `${p.interface}/${p.vlan ?? 0}`;
      if (ifVlan.has(k)) out.push(`${at}: same interface and VLAN as ports[${ifVlan.get(k)}]`);
      else ifVlan.set(k, i);
    }
  });

  out.push(...afxdpProblems(cfg));
  const vniIdx = new Map<number, number>();
  const portNet = new Map<string, number>();
  cfg.networks.forEach((n, i) => {
    const at = `networks[${i}]`;
    if (vniIdx.has(n.vni)) out.push(`${at}.vni: duplicate VNI ${n.vni} (also networks[${vniIdx.get(n.vni)}])`);
    else vniIdx.set(n.vni, i);
    if (n.type === 'nvgre') {
      if (n.udpPort !== undefined) out.push(`${at}.udpPort: NVGRE runs over GRE (IP protocol 47), not UDP`);
      n.udpPort = DEFAULT_UDP_PORT.nvgre;
    } else {
      n.udpPort ??= DEFAULT_UDP_PORT[n.type];
    }
    if (n.type !== 'geneve' && n.geneveOptions.length > 0) out.push(`${at}.geneveOptions: only for type geneve`);
    if (n.type === 'nvgre' && cfg.underlay.transport === 'udp') {
      out.push(`${at}.type: nvgre cannot use underlay.transport udp (use afpacket or raw)`);
    }
    if (n.type !== 'nvgre' && cfg.underlay.transport === 'raw') {
      out.push(`${at}.type: ${n.type} cannot use underlay.transport raw (raw carries NVGRE only)`);
    }
    n.ports.forEach((p, j) => {
      if (!portIdx.has(p)) out.push(`${at}.ports[${j}]: unknown port "${p}"`);
      else if (portNet.has(p)) out.push(`${at}.ports[${j}]: port "${p}" is already in networks[${portNet.get(p)}]`);
      else portNet.set(p, i);
    });
    n.remotes.forEach((r, j) => {
      const f = isIP(r);
      if (f === 0) out.push(`${at}.remotes[${j}]: must be an IPv4 or IPv6 address`);
      else if (fam !== 0 && f !== fam) out.push(`${at}.remotes[${j}]: IPv${f} remote with an IPv${fam} underlay.address`);
      else if (r === cfg.underlay.address) out.push(`${at}.remotes[${j}]: is the local underlay.address`);
    });
  });

  cfg.fdb.static.forEach((s, i) => {
    const at = `fdb.static[${i}]`;
    const ni = vniIdx.get(s.vni);
    if (ni === undefined) { out.push(`${at}.vni: no network has VNI ${s.vni}`); return; }
    const net = cfg.networks[ni];
    if ((s.port === undefined) === (s.remote === undefined)) { out.push(`${at}: needs exactly one of port or remote`); return; }
    const notUnicast = unicastMacProblem(s.mac);
    if (notUnicast !== null) out.push(`${at}.mac: ${notUnicast}`);
    if (s.port !== undefined && !net.ports.includes(s.port)) out.push(`${at}.port: "${s.port}" is not a member of VNI ${s.vni}`);
    if (s.remote !== undefined && !net.remotes.includes(s.remote)) out.push(`${at}.remote: ${s.remote} is not a remote of VNI ${s.vni}`);
  });

  out.push(...runPlanProblems(cfg));
  out.push(...evpnProblems(cfg));
  if (!isAbsolute(cfg.control.socket)) out.push('control.socket: must be an absolute path');
  const l = parseListen(cfg.metrics.listen);
  if (!l || isIP(l.host) === 0) out.push('metrics.listen: must be ADDRESS:PORT, e.g. 127.0.0.1:9580 or [::1]:9580');
  return out;
}

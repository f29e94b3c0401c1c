/**
 * Load, validate and normalise a `vtepd run` config (YAML or JSON).
 * Every problem names its key path the way a user would write it
 * (`networks[1].vni: must be <= 16777215`), and all problems are reported at once.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, DEFAULT_UDP_PORT, type VtepdConfig } from './config-schema.js';
import { runPlanProblems } from '../pipeline/run-plan.js';

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
  try {
    if (source.endsWith('.json')) return JSON.parse(text);
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
      throw new ConfigError(source, [`YAML syntax error${where}: ${err.message.split('\n')[0]}`]);
    }
    throw new ConfigError(source, [`syntax error: ${(err as Error).message}`]);
  }
}

/** Validate a parsed document; returns the normalised config (defaults filled) or throws ConfigError. */
export function validateConfig(doc: unknown, source = 'config'): VtepdConfig {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, ['(top level): must be a mapping with underlay, ports and networks']);
  }
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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, [`cannot read file: ${e.code === 'ENOENT' ? 'no such file' : e.message}`]);
  }
  if (text.length > 4 << 20) throw new ConfigError(file, ['file is larger than 4 MiB']);
  return validateConfig(parseConfigText(text, file), file);
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
    if (s.port !== undefined && !net.ports.includes(s.port)) out.push(`${at}.port: "${s.port}" is not a member of VNI ${s.vni}`);
    if (s.remote !== undefined && !net.remotes.includes(s.remote)) out.push(`${at}.remote: ${s.remote} is not a remote of VNI ${s.vni}`);
  });

  out.push(...runPlanProblems(cfg));
  if (!isAbsolute(cfg.control.socket)) out.push('control.socket: must be an absolute path');
  const l = parseListen(cfg.metrics.listen);
  if (!l || isIP(l.host) === 0) out.push('metrics.listen: must be ADDRESS:PORT, e.g. 127.0.0.1:9580 or [::1]:9580');
  return out;
}

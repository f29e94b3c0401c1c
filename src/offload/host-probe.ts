/**
 * What this host can offload to, found by trying rather than guessing:
 * - kernel link types (vxlan, geneve, gretap, bridge): `ip link add` in a
 *   throwaway namespace, so nothing on the host changes; the kernel's answer
 *   plus /proc/config.gz (when present) explain a refusal;
 * - vnet headers for checksum/GSO: /dev/net/tun (TAP with IFF_VNET_HDR);
 * - tc flower (NIC flow offload needs it): kernel config;
 * - the native addon's exports;
 * - NIC features of one interface (ethtool.ts).
 */
import { findAddon } from '../native/addon.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { release } from 'node:os';
import { iproute, iprouteJson, createNetns, deleteNetns, IprouteError } from './iproute.js';
import { probeNic, type NicInfo } from './ethtool.js';
import { probeXdpPlan } from './xdp-probe.js';

export interface Avail {
  ok: boolean;
  reason: string;
}

export const KERNEL_LINK_TYPES = ['vxlan', 'geneve', 'gretap', 'bridge'] as const;
export type KernelLinkType = (typeof KERNEL_LINK_TYPES)[number];

/** Kernel config symbol behind each probed facility (for the explanation only). */
const CONFIG_SYMBOL: Record<KernelLinkType | 'tun' | 'flower', string> = {
  vxlan: 'CONFIG_VXLAN',
  geneve: 'CONFIG_GENEVE',
  gretap: 'CONFIG_NET_IPGRE',
  bridge: 'CONFIG_BRIDGE',
  tun: 'CONFIG_TUN',
  flower: 'CONFIG_NET_CLS_FLOWER',
};

/** `ip link add` arguments that create a minimal device of each type. */
const LINK_ARGS: Record<KernelLinkType, string[]> = {
  vxlan: ['type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '192.0.2.1'],
  geneve: ['type', 'geneve', 'id', '42', 'remote', '192.0.2.2'],
  gretap: ['type', 'gretap', 'local', '192.0.2.1', 'remote', '192.0.2.2', 'key', '42'],
  bridge: ['type', 'bridge'],
};

export interface HostCapabilities {
  kernelRelease: string;
  kernel: Record<KernelLinkType | 'vnetHdr' | 'tcFlower', Avail>;
  native: { loaded: boolean; path: string | null; exports: string[]; reason: string };
  nic: NicInfo | null;
  /** The xdp plan's programs: built, loadable by the addon, kernel BTF present (absent: not probed). */
  xdp?: Avail;
}

/** Kernel config as a map (CONFIG_X -> y|m|n), or null when the kernel does not expose it. */
export function readKernelConfig(): Map<string, string> | null {
  const tries = ['/proc/config.gz', `/boot/config-${release()}`];
  for (const p of tries) {
    try {
      const raw = readFileSync(p);
      const text = p.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      const m = new Map<string, string>();
      for (const line of text.split('\n')) {
        const on = /^(CONFIG_\w+)=(.*)$/.exec(line);
        if (on) m.set(on[1], on[2]);
        const off = /^# (CONFIG_\w+) is not set$/.exec(line);
        if (off) m.set(off[1], 'n');
      }
      return m;
    } catch {
      // try the next source
    }
  }
  return null;
}

function configNote(cfg: Map<string, string> | null, sym: string): string {
  if (!cfg) return 'kernel config not readable';
  const v = cfg.get(sym) ?? 'n';
  if (v === 'n') {
    const modules = cfg.get('CONFIG_MODULES') === 'y' ? 'not built' : 'not built, and this kernel cannot load modules (CONFIG_MODULES unset)';
    return `${sym} is ${modules}`;
  }
  return `${sym}=${v}`;
}

/** Try to create each link type in a throwaway namespace (always deleted). */
export async function probeKernelLinks(cfg = readKernelConfig()): Promise<Record<KernelLinkType, Avail>> {
  const out = {} as Record<KernelLinkType, Avail>;
  let ns: string;
  try {
    ns = await createNetns('vtepd-probe');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    for (const t of KERNEL_LINK_TYPES) out[t] = { ok: false, reason: `cannot create a probe namespace (root needed): ${why}` };
    return out;
  }
  try {
    for (const t of KERNEL_LINK_TYPES) {
      try {
        await iproute('ip', ['link', 'add', `p${t}`, ...LINK_ARGS[t]], { netns: ns });
        out[t] = { ok: true, reason: `kernel created a ${t} device (${configNote(cfg, CONFIG_SYMBOL[t])})` };
      } catch (e) {
        const kernelSaid = e instanceof IprouteError ? e.stderr.trim().split('\n').pop() : String(e);
        out[t] = { ok: false, reason: `the kernel has no ${t} devices: "ip link add type ${t}" says "${kernelSaid}"; ${configNote(cfg, CONFIG_SYMBOL[t])}` };
      }
    }
  } finally {
    await deleteNetns(ns);
  }
  return out;
}

function probeTun(cfg: Map<string, string> | null): Avail {
  if (existsSync('/dev/net/tun')) return { ok: true, reason: '/dev/net/tun present (TAP with IFF_VNET_HDR hands checksum/GSO to the kernel)' };
  return { ok: false, reason: `/dev/net/tun missing; ${configNote(cfg, CONFIG_SYMBOL.tun)}` };
}

function probeFlower(cfg: Map<string, string> | null): Avail {
  if (!cfg) return { ok: false, reason: 'kernel config not readable, tc flower support unknown' };
  const v = cfg.get(CONFIG_SYMBOL.flower) ?? 'n';
  return v === 'n' ? { ok: false, reason: configNote(cfg, CONFIG_SYMBOL.flower) + ' (tc flower, needed for NIC flow offload)' } : { ok: true, reason: `${CONFIG_SYMBOL.flower}=${v}` };
}

/** Default place of the built addon: the folder loadNative() loads it from (run from src/ or dist/src/). */
export function defaultAddonDir(): string {
  const p = findAddon();
  return p === null ? join('native-bindings', 'build', 'Release') : dirname(p);
}

/** Load every .node file in `dir` and list its function exports. */
export function probeNative(dir = defaultAddonDir()): HostCapabilities['native'] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.node'));
  } catch {
    return { loaded: false, path: null, exports: [], reason: `native addon not built (${dir} missing; run npm ci or node-gyp rebuild in native-bindings/)` };
  }
  if (files.length === 0) return { loaded: false, path: null, exports: [], reason: `no .node file in ${dir}` };
  const req = createRequire(import.meta.url);
  const exports: string[] = [];
  for (const f of files) {
    try {
      const mod = req(join(dir, f)) as Record<string, unknown>;
      for (const [k, v] of Object.entries(mod)) if (typeof v === 'function') exports.push(k);
    } catch (e) {
      return { loaded: false, path: join(dir, f), exports: [], reason: `native addon ${f} failed to load: ${e instanceof Error ? e.message : e}` };
    }
  }
  return { loaded: true, path: dir, exports: exports.sort(), reason: `loaded ${files.join(', ')}` };
}

/** The interface carrying the default route (the underlay to probe when none is given). */
export async function defaultRouteIface(): Promise<string | null> {
  try {
    const routes = await iprouteJson<{ dev?: string }>('ip', ['route', 'show', 'default']);
    return routes[0]?.dev ?? null;
  } catch {
    return null;
  }
}

/** Probe everything; `iface` = underlay interface whose NIC features count (default: default route's). */
export async function probeHost(opts: { iface?: string; addonDir?: string } = {}): Promise<HostCapabilities> {
  const cfg = readKernelConfig();
  const iface = opts.iface ?? (await defaultRouteIface());
  const [links, nic] = await Promise.all([probeKernelLinks(cfg), iface ? probeNic(iface) : Promise.resolve(null)]);
  return {
    kernelRelease: release(),
    kernel: { ...links, vnetHdr: probeTun(cfg), tcFlower: probeFlower(cfg) },
    native: probeNative(opts.addonDir),
    nic,
    xdp: probeXdpPlan(),
  };
}

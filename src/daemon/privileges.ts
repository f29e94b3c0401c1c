/**
 * Capabilities check before `vtepd run` touches any device: AF_PACKET, libpcap
 * and raw IP sockets need CAP_NET_RAW; creating TAP devices and setting
 * promiscuous mode need CAP_NET_ADMIN. Reading CapEff from /proc/self/status
 * answers for root, for file capabilities (setcap) and for ambient ones alike.
 */
import { readFileSync } from 'node:fs';
import type { VtepdConfig } from '../config/config-schema.js';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;
export const CAP_IPC_LOCK = 14;
export const CAP_BPF = 39;
const CAP_NAMES: Record<number, string> = { [CAP_NET_ADMIN]: 'CAP_NET_ADMIN', [CAP_NET_RAW]: 'CAP_NET_RAW', [CAP_IPC_LOCK]: 'CAP_IPC_LOCK', [CAP_BPF]: 'CAP_BPF' };

/** A capability mask of this process (CapEff, CapAmb, ...), or null when /proc is unavailable. */
export function capMask(field: 'CapEff' | 'CapAmb', statusText?: string): bigint | null {
  let text = statusText;
  if (text === undefined) {
    try { text = readFileSync('/proc/self/status', 'utf8'); } catch { return null; }
  }
  const m = new RegExp(`^${field}:\\s*([0-9a-fA-F]+)$`, 'm').exec(text);
  return m ? BigInt('0x' + m[1]) : null;
}

/** Effective capability mask of this process, or null when /proc is unavailable. */
export function effectiveCaps(statusText?: string): bigint | null {
  return capMask('CapEff', statusText);
}

export function hasCap(mask: bigint, cap: number): boolean {
  return (mask & (1n << BigInt(cap))) !== 0n;
}

/** Capabilities this config needs (none for a pure pcap-file setup). */
export function neededCaps(cfg: VtepdConfig): number[] {
  const need = new Set<number>();
  // The underlay is always a live socket: AF_PACKET, raw IP, or UDP bound to an interface.
  need.add(CAP_NET_RAW);
  need.add(CAP_NET_ADMIN);
  for (const p of cfg.ports) {
    if (p.backend === 'afpacket' || p.backend === 'cap' || p.backend === 'afxdp') need.add(CAP_NET_RAW);
    if (p.backend === 'tap') need.add(CAP_NET_ADMIN);
  }
  // AF_XDP: loading the XDP program (CAP_BPF) and pinning the UMEM beyond RLIMIT_MEMLOCK (CAP_IPC_LOCK).
  if (cfg.underlay.transport === 'afxdp' || cfg.ports.some((p) => p.backend === 'afxdp')) {
    need.add(CAP_BPF);
    need.add(CAP_IPC_LOCK);
  }
  return [...need].sort();
}

/** Returns null when allowed, else a message saying what is missing and how to grant it. */
export function privilegeProblem(cfg: VtepdConfig, statusText?: string, euid = process.geteuid?.() ?? 0): string | null {
  const mask = effectiveCaps(statusText);
  if (mask === null) return null; // not Linux /proc: let the socket calls report EPERM themselves
  const missing = neededCaps(cfg).filter((c) => !hasCap(mask, c)).map((c) => CAP_NAMES[c]);
  if (missing.length === 0) {
    // Kernel mode programs the kernel through `ip` and `bridge` child processes, which keep
    // capabilities only as root or when they are ambient (file capabilities on node do not pass on).
    const amb = capMask('CapAmb', statusText) ?? 0n;
    if (cfg.offload['encap-decap'] === 'kernel' && euid !== 0 && !hasCap(amb, CAP_NET_ADMIN)) {
      return 'vtepd run in kernel mode runs ip and bridge, which do not inherit capabilities set with setcap: ' +
        'run it as root (sudo vtepd run ...), or with ambient capabilities: ' +
        'sudo setpriv --reuid=USER --regid=GROUP --init-groups --inh-caps=+net_admin,+net_raw --ambient-caps=+net_admin,+net_raw vtepd run ...';
    }
    return null;
  }
  const need = neededCaps(cfg);
  const names = [CAP_NET_RAW, CAP_NET_ADMIN, ...need.filter((c) => c !== CAP_NET_RAW && c !== CAP_NET_ADMIN)].map((c) => CAP_NAMES[c]);
  const list = names.length === 2 ? `${names[0]} and ${names[1]}` : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  // Ambient capabilities for this one process (systemd AmbientCapabilities=, or setpriv), not
  // setcap on the node binary, which would hand them to every Node program on the host.
  const caps = names.map((n) => n.toLowerCase().replace(/^cap_/, ''));
  return `vtepd run needs root or the capabilities ${list} (missing: ${missing.join(', ')}). ` +
    `Run it as root (sudo vtepd run ...), as the systemd service (packaging/vtepd.service: AmbientCapabilities=${names.join(' ')}), ` +
    `or with ambient capabilities for this process only: sudo setpriv --reuid=USER --regid=GROUP --init-groups ` +
    `--inh-caps=${caps.map((c) => `+${c}`).join(',')} --ambient-caps=${caps.map((c) => `+${c}`).join(',')} vtepd run ... ` +
    '(not setcap on node: that would give every Node program on the host these capabilities)';
}

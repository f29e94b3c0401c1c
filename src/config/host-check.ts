/**
 * Does a valid config fit this host? A config may be written and checked on
 * one machine and run on another, so `vtepd run --check` reports these as
 * warnings; `vtepd run` refuses to start on them with exit code 2 (a
 * configuration problem), before anything is opened or built.
 */
import { existsSync } from 'node:fs';
import type { VtepdConfig } from './config-schema.js';

/** A config that does not fit this host: exit code 2, like any other config problem. */
export class HostConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`the config does not fit this host:\n  - ${issues.join('\n  - ')}`);
    this.name = 'HostConfigError';
  }
}

const present = (iface: string): boolean => existsSync(`/sys/class/net/${iface}`);

/** Interfaces the config names that this network namespace does not have (TAP ports are created when missing). */
export function missingInterfaces(cfg: VtepdConfig): string[] {
  const out: string[] = [];
  if (!present(cfg.underlay.interface)) out.push(`underlay.interface: ${cfg.underlay.interface} does not exist on this host`);
  // Kernel mode bridges only the ports of a network; the userspace data path opens every port.
  const kernel = cfg.offload['encap-decap'] === 'kernel';
  const used = new Set(cfg.networks.flatMap((n) => n.ports));
  cfg.ports.forEach((p, i) => {
    if (p.interface === undefined || p.backend === 'tap' || p.backend === 'pcap') return;
    if (kernel && !used.has(p.name)) return;
    if (!present(p.interface)) out.push(`ports[${i}] (${p.name}).interface: ${p.interface} does not exist on this host`);
  });
  return out;
}

/**
 * Config → AF_XDP port options: socket geometry from the `afxdp` keys, and the
 * filter that tells vtepd's XDP program which frames are vtepd's. A local port
 * takes every frame (or only its members' VLANs with `take: vlans`); the
 * underlay takes only tunnel traffic to underlay.address (UDP to the networks'
 * tunnel ports, IP protocol 47 when a network is NVGRE), so ARP/ND and the
 * host's own traffic still reach the kernel.
 */
import type { AfXdpConfig, VtepdConfig } from '../config/config-schema.js';
import type { AfXdpPortOptions, XskFilter } from '../ports/af-xdp-port.js';

type SocketOptions = Omit<AfXdpPortOptions, 'interface' | 'name' | 'index' | 'netns' | 'filter'>;

export function afxdpSocketOptions(c: AfXdpConfig | undefined): SocketOptions {
  const o: SocketOptions = {};
  if (c === undefined) return o;
  if (c.queue !== undefined) o.queue = c.queue;
  if (c.mode !== undefined) o.mode = c.mode;
  if (c.xdpMode !== undefined) o.xdpMode = c.xdpMode;
  if (c.frameSize !== undefined) o.frameSize = c.frameSize;
  if (c.frames !== undefined) o.frames = c.frames;
  if (c.rxSize !== undefined) o.rxSize = c.rxSize;
  if (c.txSize !== undefined) o.txSize = c.txSize;
  if (c.fillSize !== undefined) o.fillSize = c.fillSize;
  if (c.compSize !== undefined) o.compSize = c.compSize;
  if (c.needWakeup !== undefined) o.needWakeup = c.needWakeup;
  return o;
}

/** Filter of a local device: all frames, or with take: vlans its members' VLANs (vlan 0 = untagged). */
export function localFilter(c: AfXdpConfig | undefined, members: { vlan: number }[]): XskFilter {
  if (c?.take !== 'vlans') return { mode: 'all' };
  return { mode: 'vlans', vlans: members.filter((m) => m.vlan > 0).map((m) => m.vlan), untagged: members.some((m) => m.vlan === 0) };
}

/** Filter of the underlay: this config's tunnel traffic to underlay.address. */
export function underlayFilter(cfg: VtepdConfig): Extract<XskFilter, { mode: 'tunnel' }> & { address: string } {
  const udpPorts = [...new Set(cfg.networks.filter((n) => n.type !== 'nvgre').map((n) => n.udpPort))].sort((a, b) => a - b);
  return { mode: 'tunnel', udpPorts, gre: cfg.networks.some((n) => n.type === 'nvgre'), address: cfg.underlay.address };
}

/**
 * Config → Port objects. Local ports are grouped by device: two config ports on
 * one interface (different VLANs) share one socket, and the bridge tells them
 * apart by (port index, VLAN). The underlay is one AF_PACKET port, or one
 * kernel UDP socket per tunnel UDP port, or one raw protocol-47 socket.
 * Ports are keyed by a signature of their config so a reload keeps the ones
 * whose config did not change (their rings keep filling meanwhile).
 */
import type { Port } from '../ports/port.js';
import { AfPacketPort } from '../ports/af-packet-port.js';
import { AfXdpPort } from '../ports/af-xdp-port.js';
import { afxdpSocketOptions, localFilter, underlayFilter } from './afxdp-options.js';
import { TapPort } from '../ports/tap-port.js';
import { CapPort } from '../ports/cap-port.js';
import { PcapFilePort } from '../ports/pcap-file-port.js';
import { UdpUnderlay } from '../ports/udp-underlay.js';
import { RawIpUnderlay } from '../ports/raw-ip-underlay.js';
import { TunnelPortGuard } from '../ports/tunnel-port-guard.js';
import type { AfPacketConfig, PortConfig, VtepdConfig } from '../config/config-schema.js';
import type { AfPacketPortOptions } from '../ports/af-packet-port.js';

/** The config's afpacket section as AfPacketPort options (2 KiB frames, 32 per 64 KiB block). */
export function afPacketOptions(a: AfPacketConfig | undefined): Partial<AfPacketPortOptions> {
  if (a === undefined) return {};
  const v3 = a.rxRing === 'v3';
  return {
    rxRingVersion: v3 ? 3 : 2,
    // v3: blocks of 256 KiB (128 frames); v2: blocks of 64 KiB (32 frames).
    blockCount: Math.max(1, Math.ceil(a.rxRingFrames / (v3 ? 128 : 32))),
    txRing: a.txRing, txRingFrames: a.txRingFrames, qdiscBypass: a.qdiscBypass, txWaitMs: a.txWaitMs,
  };
}

/** Bridge port indices: local devices count up from 0; underlay sockets sit at the top. */
export const UNDERLAY_INDEX_BASE = 1000;

/** One opened device and the config ports (name, VLAN) it carries. */
export interface LocalDevice {
  key: string;
  port: Port;
  iface: string;
  backend: string;
  members: { name: string; vlan: number }[];
}

export interface Underlay {
  key: string;
  ports: Port[];
  /** Underlay port to transmit a network's frames on, by UDP port (0 = NVGRE / afpacket: ports[0]). */
  txFor(udpPort: number): Port;
  guards: TunnelPortGuard[];
  /** Follow a reloaded config that kept this underlay open (AF_XDP: the tunnel filter). */
  retarget?(cfg: VtepdConfig): void;
}

/** Signature of a device: what must be equal for a reload to keep it open (ring settings for AF_PACKET, the afxdp block for AF_XDP). */
export function deviceKey(p: PortConfig, cfg?: VtepdConfig): string {
  const ring = p.backend === 'afpacket' ? afPacketOptions(cfg?.afpacket) : p.backend === 'afxdp' ? p.afxdp ?? {} : {};
  return JSON.stringify([p.backend, p.interface ?? '', p.filter ?? '', p.readFile ?? '', p.writeFile ?? '', ring]);
}

export function underlayKey(cfg: VtepdConfig): string {
  const u = cfg.underlay;
  // AF_XDP keeps its socket across reloads: the address and tunnel ports only change its filter (retarget).
  if (u.transport === 'afxdp') return JSON.stringify([u.interface, u.transport, u.afxdp ?? {}]);
  const udpPorts = [...new Set(cfg.networks.filter((n) => n.type !== 'nvgre').map((n) => n.udpPort))].sort();
  const ring = u.transport === 'afpacket' ? afPacketOptions(cfg.afpacket) : {};
  return JSON.stringify([u.interface, u.address, u.transport, u.ttl, u.transport === 'afpacket' ? [] : udpPorts, underlayVnet(cfg), ring]);
}

/** Underlays of whole Ethernet frames (vtepd builds the outer headers, next hops from the neighbour table). */
export function ethernetUnderlay(cfg: VtepdConfig): boolean {
  return cfg.underlay.transport === 'afpacket' || cfg.underlay.transport === 'afxdp';
}

/** Ports whose open replaced a leftover vtepd XDP program (a vtepd that died without detaching it): for the log. */
export function replacedLeftovers(ports: Port[]): { port: string; replaced: string }[] {
  const out: { port: string; replaced: string }[] = [];
  for (const p of ports) {
    const r = p.details?.().replaced;
    if (typeof r === 'string') out.push({ port: p.name, replaced: r });
  }
  return out;
}

/** checksum: kernel rides on the AF_PACKET underlay's virtio-net header (see src/tunnel/vnet-checksum.ts). */
export function underlayVnet(cfg: VtepdConfig): boolean {
  return cfg.offload.checksum === 'kernel' && cfg.underlay.transport === 'afpacket';
}

/** Group config ports by device; existing devices (by key) are reused, new ones opened at free indices. */
export function openLocalDevices(cfg: VtepdConfig, keep: Map<string, LocalDevice>): LocalDevice[] {
  const byKey = new Map<string, PortConfig[]>();
  for (const p of cfg.ports) {
    const k = deviceKey(p, cfg);
    byKey.set(k, [...(byKey.get(k) ?? []), p]);
  }
  const used = new Set<number>();
  for (const [k, d] of keep) if (byKey.has(k)) used.add(d.port.index);
  let next = 0;
  const out: LocalDevice[] = [];
  try {
    for (const [k, ps] of byKey) {
      const members = ps.map((p) => ({ name: p.name, vlan: p.vlan ?? 0 }));
      const old = keep.get(k);
      if (old) {
        out.push({ ...old, members });
        continue;
      }
      while (used.has(next)) next++;
      used.add(next);
      const p = ps[0];
      out.push({ key: k, port: openLocal(p, next, members, cfg), iface: p.interface ?? p.name, backend: p.backend, members });
    }
  } catch (err) {
    // Do not leak what we opened before the failure (kept devices belong to the caller).
    for (const d of out) if (!keep.has(d.key)) void d.port.close();
    throw err;
  }
  return out;
}

function openLocal(p: PortConfig, index: number, members: { vlan: number }[], cfg: VtepdConfig): Port {
  const name = p.interface ?? p.name;
  try {
    switch (p.backend) {
      case 'afpacket':
        return new AfPacketPort({ ...afPacketOptions(cfg.afpacket), interface: p.interface!, name, index });
      case 'afxdp':
        return new AfXdpPort({ ...afxdpSocketOptions(p.afxdp), interface: p.interface!, name, index, filter: localFilter(p.afxdp, members) });
      case 'tap':
        return new TapPort({ interface: p.interface, name, index });
      case 'cap':
        return new CapPort({ interface: p.interface!, name, index, filter: p.filter ?? '' });
      case 'pcap':
        return new PcapFilePort({ name: p.name, index, readFile: p.readFile, writeFile: p.writeFile });
    }
  } catch (err) {
    throw new Error(`port ${p.name} (${p.backend} ${name}): ${(err as Error).message}`, { cause: err });
  }
}

export async function openUnderlay(cfg: VtepdConfig): Promise<Underlay> {
  const u = cfg.underlay;
  const key = underlayKey(cfg);
  const udpPorts = [...new Set(cfg.networks.filter((n) => n.type !== 'nvgre').map((n) => n.udpPort))].sort();
  const what = `underlay ${u.transport} on ${u.interface}`;
  try {
    if (u.transport === 'afpacket') {
      // Not promiscuous: only frames for this host (unicast to our MAC, broadcast) are tunnel candidates.
      // Host-stack guards (no ICMP unreachable for tunnel traffic) are kept by HostGuards.
      const port = new AfPacketPort({ ...afPacketOptions(cfg.afpacket), interface: u.interface, name: u.interface, index: UNDERLAY_INDEX_BASE, promiscuous: false, vnetHdr: underlayVnet(cfg) });
      return { key, ports: [port], txFor: () => port, guards: [] };
    }
    if (u.transport === 'afxdp') {
      // Takes only tunnel traffic to underlay.address; ARP/ND and the host's own frames stay with the kernel.
      const port = new AfXdpPort({ ...afxdpSocketOptions(u.afxdp), interface: u.interface, name: u.interface, index: UNDERLAY_INDEX_BASE, filter: underlayFilter(cfg) });
      return { key, ports: [port], txFor: () => port, guards: [], retarget: (next) => port.setFilter(underlayFilter(next)) };
    }
    if (u.transport === 'raw') {
      const port = new RawIpUnderlay({ localAddress: u.address, name: `${u.interface}:gre`, index: UNDERLAY_INDEX_BASE });
      return { key, ports: [port], txFor: () => port, guards: [] };
    }
    const ports: UdpUnderlay[] = [];
    try {
      for (let k = 0; k < udpPorts.length; k++) {
        ports.push(await UdpUnderlay.open({ localAddress: u.address, port: udpPorts[k], name: `${u.interface}:udp${udpPorts[k]}`, index: UNDERLAY_INDEX_BASE + k, ttl: u.ttl }));
      }
    } catch (err) {
      for (const p of ports) await p.close();
      throw err;
    }
    return { key, ports, txFor: (up) => ports.find((p) => p.port === up) ?? ports[0], guards: [] };
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

export async function closeUnderlay(u: Underlay): Promise<void> {
  for (const g of u.guards) g.close();
  for (const p of u.ports) await p.close();
}

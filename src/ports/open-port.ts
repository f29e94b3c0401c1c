/**
 * From config to ports: one place that maps a `ports[]` entry and the `underlay`
 * section of the vtepd config onto backends, so the daemon does not know their
 * constructors. Structural option types keep this file independent of the
 * config loader (it accepts the loader's PortConfig / UnderlayConfig as is).
 */
import { AfPacketPort, type AfPacketPortOptions } from './af-packet-port.js';
import { AfXdpPort, type AfXdpPortOptions } from './af-xdp-port.js';
import { CapPort } from './cap-port.js';
import { PcapFilePort } from './pcap-file-port.js';
import type { Port } from './port.js';
import { RawIpUnderlay } from './raw-ip-underlay.js';
import { TapPort } from './tap-port.js';
import { TunnelPortGuard } from './tunnel-port-guard.js';
import { UdpUnderlay } from './udp-underlay.js';

export interface PortSpec {
  name: string;
  interface?: string;
  backend: 'afpacket' | 'afxdp' | 'tap' | 'cap' | 'pcap';
  filter?: string;
  readFile?: string;
  writeFile?: string;
}

export interface UnderlaySpec {
  interface: string;
  address: string;
  transport: 'afpacket' | 'afxdp' | 'udp' | 'raw';
  ttl?: number;
  /** afxdp: take IP protocol 47 (NVGRE) too; default: only when no UDP port is given. */
  gre?: boolean;
}

export interface OpenOptions {
  /** Open inside this network namespace (AF_PACKET, TAP, cap, raw; not dgram). */
  netns?: string;
  /** Extra AF_PACKET ring/TX settings. */
  afpacket?: Partial<AfPacketPortOptions>;
  /** AF_XDP ring/UMEM/mode settings. */
  afxdp?: Partial<AfXdpPortOptions>;
}

/** Opens a local (VM-facing) port; throws a clear error naming the port on failure. */
export function openPort(spec: PortSpec, index: number, opts: OpenOptions = {}): Port {
  const ifname = spec.interface ?? spec.name;
  try {
    switch (spec.backend) {
      case 'afpacket': return new AfPacketPort({ ...opts.afpacket, interface: ifname, name: spec.name, index, netns: opts.netns });
      case 'afxdp': return new AfXdpPort({ ...opts.afxdp, interface: ifname, name: spec.name, index, netns: opts.netns });
      case 'tap': return new TapPort({ interface: ifname, name: spec.name, index, netns: opts.netns });
      case 'cap': return new CapPort({ interface: ifname, name: spec.name, index, filter: spec.filter, netns: opts.netns });
      case 'pcap': return new PcapFilePort({ name: spec.name, index, readFile: spec.readFile, writeFile: spec.writeFile });
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    const wrapped = new Error(`port '${spec.name}' (${spec.backend}): ${err.message}`) as Error & { code?: string; cause?: unknown };
    wrapped.code = err.code;
    wrapped.cause = e;
    throw wrapped;
  }
  throw new Error(`port '${spec.name}': unknown backend '${String(spec.backend)}'`);
}

/** The underlay port plus what keeps the host quiet about tunnel traffic; close both. */
export interface Underlay {
  port: Port;
  guards: TunnelPortGuard[];
  close(): Promise<void>;
}

/**
 * Opens the underlay. afpacket: raw frames on `interface` (encap builds outer
 * headers; resolve next hops with neighbour.ts) plus a UDP sink on each tunnel
 * UDP port. udp: one kernel UDP socket (dgram) — one per UDP port, so callers
 * with VXLAN and GENEVE both get two ports. raw: protocol 47 (NVGRE).
 */
export async function openUnderlay(spec: UnderlaySpec, udpPorts: number[], index: number, opts: OpenOptions = {}): Promise<Underlay[]> {
  const out: Underlay[] = [];
  const mk = (port: Port, guards: TunnelPortGuard[] = []): Underlay => ({
    port, guards, close: async () => { for (const g of guards) g.close(); await port.close(); },
  });
  try {
    if (spec.transport === 'afpacket') {
      const guards = udpPorts.map((p) => new TunnelPortGuard(spec.address, p, { netns: opts.netns }));
      out.push(mk(new AfPacketPort({ ...opts.afpacket, interface: spec.interface, name: `underlay:${spec.interface}`, index, netns: opts.netns }), guards));
    } else if (spec.transport === 'afxdp') {
      // The XDP program takes only tunnel traffic to the address; the guards catch what still reaches the stack.
      const guards = udpPorts.map((p) => new TunnelPortGuard(spec.address, p, { netns: opts.netns }));
      const filter = { mode: 'tunnel' as const, udpPorts, gre: spec.gre ?? udpPorts.length === 0, address: spec.address };
      out.push(mk(new AfXdpPort({ ...opts.afxdp, interface: spec.interface, name: `underlay:${spec.interface}`, index, netns: opts.netns, filter }), guards));
    } else if (spec.transport === 'udp') {
      for (const p of udpPorts) out.push(mk(await UdpUnderlay.open({ localAddress: spec.address, port: p, index, ttl: spec.ttl })));
    } else {
      out.push(mk(new RawIpUnderlay({ localAddress: spec.address, index, netns: opts.netns })));
    }
  } catch (e) {
    for (const u of out) await u.close();
    throw new Error(`underlay ${spec.transport} on ${spec.interface} (${spec.address}): ${(e as Error).message}`);
  }
  return out;
}

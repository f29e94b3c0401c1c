/**
 * Keep the hypervisor's own IP stack quiet about the tunnel traffic that the
 * AF_PACKET underlay reads off the wire: without a listener the kernel answers
 * every VXLAN/GENEVE datagram with ICMP port-unreachable and every NVGRE packet
 * with ICMP protocol-unreachable. UDP ports get a TunnelPortGuard (a bound
 * socket that drops everything in its socket filter); GRE gets a raw
 * protocol-47 socket whose receive side is paused (raw delivery counts as a
 * handler, so no ICMP; its buffer fills and the kernel drops the copies).
 * Guards follow the config across reloads: opened and closed by port number.
 */
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { TunnelPortGuard } from '../ports/tunnel-port-guard.js';
import type { VtepdConfig } from '../config/config-schema.js';

interface RawSocket { pauseRecv(): void; close(): void; on(ev: 'error', fn: (e: Error) => void): void }
interface RawModule { createSocket(o: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket; AddressFamily: { IPv4: number; IPv6: number } }

/** Guard key: 'udp:4789' or 'gre'. */
type Guard = { close(): void };

export class HostGuards {
  private readonly guards = new Map<string, Guard>();

  /** Open the guards `cfg` needs and close the others; errors name the port. */
  sync(cfg: VtepdConfig): void {
    const want = new Set<string>();
    // AF_XDP takes tunnel frames before the stack, but fragments and IPv6 extension headers still reach it.
    if (cfg.underlay.transport === 'afpacket' || cfg.underlay.transport === 'afxdp') {
      for (const n of cfg.networks) want.add(n.type === 'nvgre' ? 'gre' : `udp:${n.udpPort}`);
    }
    for (const [k, g] of this.guards) {
      if (!want.has(k) || this.addr !== cfg.underlay.address) { g.close(); this.guards.delete(k); }
    }
    this.addr = cfg.underlay.address;
    for (const k of want) {
      if (this.guards.has(k)) continue;
      this.guards.set(k, k === 'gre' ? greGuard(cfg.underlay.address) : new TunnelPortGuard(cfg.underlay.address, Number(k.slice(4)), { interface: cfg.underlay.interface }));
    }
  }

  private addr = '';

  keys(): string[] { return [...this.guards.keys()].sort(); }

  close(): void {
    for (const g of this.guards.values()) g.close();
    this.guards.clear();
  }
}

function greGuard(address: string): Guard {
  const raw = createRequire(import.meta.url)('raw-socket') as RawModule;
  const s = raw.createSocket({ protocol: 47, addressFamily: isIPv6(address) ? raw.AddressFamily.IPv6 : raw.AddressFamily.IPv4, bufferSize: 64 });
  s.on('error', () => undefined);
  s.pauseRecv();
  // Held by the map (raw-socket's native wrap does not keep the JS socket alive by itself).
  return { close: () => s.close() };
}

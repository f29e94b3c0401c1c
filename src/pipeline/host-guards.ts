/**
 * Keep the hypervisor's own IP stack quiet about the tunnel traffic that the
 * AF_PACKET underlay reads off the wire: without a listener the kernel answers
 * every VXLAN/GENEVE datagram with ICMP port-unreachable and every NVGRE packet
 * with ICMP protocol-unreachable. UDP ports get a TunnelPortGuard (a bound
 * socket that drops everything in its socket filter); GRE gets a raw
 * protocol-47 socket whose receive side is paused (raw delivery counts as a
 * handler, so no ICMP; its buffer fills and the kernel drops the copies).
 * Guards follow the config across reloads: opened and closed by port number.
 *
 * With the AF_PACKET underlay the stack never needs to see those frames at
 * all: a HostStackBypass (tcx ingress program, `underlay.stackBypass`, on by
 * default) drops them after vtepd's socket has them. The guards stay behind it
 * for what it leaves to the stack, and for kernels without tcx (then the
 * bypass is `off` with the reason, in `vtepd stats`).
 */
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { TunnelPortGuard } from '../ports/tunnel-port-guard.js';
import { HostStackBypass } from '../ports/host-stack-bypass.js';
import { underlayFilter } from './afxdp-options.js';
import type { VtepdConfig } from '../config/config-schema.js';

interface RawSocket { pauseRecv(): void; close(): void; on(ev: 'error', fn: (e: Error) => void): void }
interface RawModule { createSocket(o: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket; AddressFamily: { IPv4: number; IPv6: number } }

/** Guard key: 'udp:4789' or 'gre'. */
type Guard = { close(): void };

/** The stack bypass as `vtepd stats` shows it: `on` with its counters, or `off` and why. */
export interface BypassStatus { interface: string; state: 'on' | 'off'; reason?: string; dropped: number; passed: number }

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
    this.syncBypass(cfg);
  }

  private addr = '';
  private bypass: HostStackBypass | null = null;
  /** Counts of a bypass closed by a reload, so the totals never go down. */
  private bypassCarried = { dropped: 0, passed: 0 };
  /** Why the bypass is off; `failed`: the last sync wanted it and could not attach it. */
  private bypassOff: { interface: string; reason: string; failed: boolean } | null = null;

  /** Never throws: without the bypass the guards still keep the stack quiet, at its cost per frame. */
  private syncBypass(cfg: VtepdConfig): void {
    const u = cfg.underlay;
    const off = (reason: string, failed = false): void => { this.closeBypass(); this.bypassOff = { interface: u.interface, reason, failed }; };
    if (u.transport !== 'afpacket') return off(`underlay.transport ${u.transport}: only the AF_PACKET underlay hands the stack frames vtepd already has`);
    if (u.stackBypass === false) return off('underlay.stackBypass: false');
    if (cfg.networks.length === 0) return off('no networks');
    const filter = underlayFilter(cfg);
    try {
      if (this.bypass !== null && this.bypass.iface === u.interface) {
        this.bypass.setFilter(filter);
      } else {
        this.closeBypass();
        this.bypass = HostStackBypass.open(u.interface, filter);
      }
      this.bypassOff = null;
    } catch (e) {
      off((e as Error).message, true);
    }
  }

  private closeBypass(): void {
    if (this.bypass === null) return;
    const c = this.bypass.counters();
    this.bypassCarried.dropped += c.dropped;
    this.bypassCarried.passed += c.passed;
    this.bypass.close();
    this.bypass = null;
  }

  keys(): string[] { return [...this.guards.keys(), ...(this.bypass !== null ? [`tcx:${this.bypass.iface}`] : [])].sort(); }

  /** Why the last sync could not attach the bypass it wanted; undefined when it did, or did not want it. */
  bypassFailure(): { interface: string; reason: string } | undefined {
    const o = this.bypassOff;
    return o?.failed ? { interface: o.interface, reason: o.reason } : undefined;
  }

  /** The bypass now; undefined before the first sync. */
  bypassStatus(): BypassStatus | undefined {
    const c = this.bypass?.counters() ?? { dropped: 0, passed: 0 };
    const totals = { dropped: this.bypassCarried.dropped + c.dropped, passed: this.bypassCarried.passed + c.passed };
    if (this.bypass !== null) return { interface: this.bypass.iface, state: 'on', ...totals };
    if (this.bypassOff !== null) return { interface: this.bypassOff.interface, state: 'off', reason: this.bypassOff.reason, ...totals };
    return undefined;
  }

  close(): void {
    for (const g of this.guards.values()) g.close();
    this.guards.clear();
    this.closeBypass();
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

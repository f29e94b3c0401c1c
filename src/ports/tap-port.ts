/**
 * TAP port: creates (or attaches to) a TAP device. With vnetHdr the 10/12-byte
 * virtio_net_hdr is stripped on read and its fields land in `vnet` (6 u16 per
 * packet index: flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset); on write
 * `txVnet` (same layout) is prepended, zeros when unset.
 * A device created here is non-persistent: close() (or exit) removes it.
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { PortDrop } from './counters.js';
import { loadNative, type TapNative } from '../native/addon.js';
import { NativePort } from './native-port.js';
import { withNetns } from './netns.js';

/** TUNSETOFFLOAD bits (linux/if_tun.h). */
export const TUN_OFFLOAD = { csum: 0x01, tso4: 0x02, tso6: 0x04, tsoEcn: 0x08, ufo: 0x10 } as const;
/** virtio_net_hdr flags / gso types. */
export const VNET = { F_NEEDS_CSUM: 1, F_DATA_VALID: 2, GSO_NONE: 0, GSO_TCPV4: 1, GSO_UDP: 3, GSO_TCPV6: 4 } as const;
export const VNET_FIELDS = 6;

export interface TapPortOptions {
  /** Device name; empty lets the kernel pick tapN. An existing TAP device is attached. */
  interface?: string;
  name?: string;
  index?: number;
  netns?: string;
  /** 0 (default), 10 (virtio_net_hdr) or 12 (with num_buffers, virtio 1.0). */
  vnetHdr?: 0 | 10 | 12;
  /** TUN_OFFLOAD bits: the kernel may then hand us partial checksums / GSO super-frames. */
  offloads?: number;
  /** Set the link up after creating it (default true). */
  up?: boolean;
  mtu?: number;
  /** Keep the device after close (TUNSETPERSIST). */
  persist?: boolean;
}

export class TapPort extends NativePort {
  readonly kind = 'tap' as const;
  declare protected readonly sock: TapNative;
  /** virtio_net_hdr fields of received frames (vnetHdr only), indexed by packet index * 6. */
  vnet: Uint16Array | null = null;
  /** virtio_net_hdr fields to prepend on transmit, same layout; null = zeros. */
  txVnet: Uint16Array | null = null;

  constructor(opts: TapPortOptions = {}) {
    const native = loadNative();
    const sock = withNetns(opts.netns, () => new native.Tap({
      name: opts.interface ?? '',
      vnetHdr: opts.vnetHdr ?? 0,
      offloads: opts.offloads,
      persist: opts.persist,
      up: opts.up ?? true,
      mtu: opts.mtu,
    }));
    super(opts.name ?? sock.interface, opts.index ?? 0, sock, native);
  }

  /** Whether this port created the device (and so removes it on close unless persistent). */
  get created(): boolean { return this.sock.created; }

  setUp(up = true): void { this.sock.setUp(up); }

  protected override rxExtra(batch: PacketBatch): Uint16Array | undefined {
    if (this.sock.vnetHdr === 0) return undefined;
    const need = batch.capacity * VNET_FIELDS;
    if (this.vnet === null || this.vnet.length < need) this.vnet = new Uint16Array(need); // once per batch size
    return this.vnet;
  }

  protected override txExtra(batch: PacketBatch): Uint16Array | undefined {
    const v = this.txVnet;
    return v !== null && v.length >= batch.capacity * VNET_FIELDS ? v : undefined;
  }

  pollStats(): void {
    if (this.closed) return;
    const s = this.sock.stats();
    this.counters.drops[PortDrop.oversize] += s.oversize;
    this.counters.txFullEvents += s.txFullEvents;
  }
}

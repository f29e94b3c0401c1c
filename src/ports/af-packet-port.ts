/**
 * AF_PACKET port: an mmap RX ring (TPACKET_V2 by default: each frame readable
 * the moment the kernel wrote it, so a lone frame is not held back and a busy
 * port still drains in batches) and a TPACKET_V2 TX ring (one send() per batch;
 * sendmmsg on request) in the native addon. Its own transmitted frames are not
 * read back (PACKET_IGNORE_OUTGOING plus a pkttype check). Kernel ring drops
 * (PACKET_STATISTICS), socket drops, TX ring-full waits and refused frames are
 * pulled into the counters by pollStats().
 *
 * Opt-in `vnetHdr: true` (PACKET_VNET_HDR, offload placement `checksum: kernel`):
 * as on a TAP port with a vnet header, received frames' virtio_net_hdr fields land
 * in `vnet` and `txVnet` (same layout: 6 u16 per packet index, VNET_FIELDS) goes
 * in front of each transmitted frame, zeros when null. A frame sent with
 * flags VNET.F_NEEDS_CSUM, csumStart and csumOffset (the checksum field holding
 * the pseudo-header sum) leaves with its checksum completed by the kernel, in
 * software when the device cannot (see setTxChecksumPartial).
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { PortDrop } from './counters.js';
import { loadNative, type AfPacketNative, type AfPacketNativeOptions } from '../native/addon.js';
import { NativePort } from './native-port.js';
import { withNetns } from './netns.js';
import { VNET, VNET_FIELDS } from './tap-port.js';

export { VNET, VNET_FIELDS };

/** The addon's AfPacket options with the vnet header (native.ts is shared; the extension lives here). */
export interface AfPacketVnetNativeOptions extends AfPacketNativeOptions {
  /** PACKET_VNET_HDR: a virtio_net_hdr in front of every frame, both ways (default false). */
  vnetHdr?: boolean;
}
/** The addon's AfPacket object as this port uses it. */
export interface AfPacketVnetNative extends AfPacketNative {
  readonly vnetHdr?: boolean;
}
type AfPacketVnetCtor = new (opts: AfPacketVnetNativeOptions) => AfPacketVnetNative;

/** PACKET_FANOUT modes (linux/if_packet.h). */
export const FANOUT_MODES = { hash: 0, lb: 1, cpu: 2, rollover: 3, rnd: 4, qm: 5 } as const;

/** The socket options of AfPacketNativeOptions (documented there), plus the port's own. */
export interface AfPacketPortOptions extends Omit<AfPacketNativeOptions, 'fanoutGroup' | 'fanoutMode'> {
  /** Port name for counters and logs (default: the interface name). */
  name?: string;
  /** Value written to batch.inPort (default 0). */
  index?: number;
  /** Open the socket inside this network namespace (name under /run/netns, or a path). */
  netns?: string;
  /** Join a PACKET_FANOUT group to spread RX over several sockets/processes. */
  fanout?: { group: number; mode?: keyof typeof FANOUT_MODES };
  /** PACKET_VNET_HDR: virtio_net_hdr fields per frame in `vnet` (RX) and `txVnet` (TX). Default false. */
  vnetHdr?: boolean;
}

/** Ring defaults: RX 64 blocks of 64 KiB in 2 KiB frames (2048 frames, 4 MiB); TX ring of 512 frames. */
export const AF_PACKET_DEFAULTS = {
  rxRingVersion: 2, blockSize: 1 << 16, blockCount: 64, frameSize: 2048, blockTimeoutMs: 2,
  txRing: true, txRingFrames: 512, txWaitMs: 10,
} as const;
/** TPACKET_V3 geometry when rxRingVersion is 3 and no geometry is given: 16 blocks of 256 KiB. */
export const AF_PACKET_V3_DEFAULTS = { blockSize: 1 << 18, blockCount: 16 } as const;

export class AfPacketPort extends NativePort {
  readonly kind = 'afpacket' as const;
  declare protected readonly sock: AfPacketVnetNative;
  /** virtio_net_hdr fields of received frames (vnetHdr only), indexed by packet index * VNET_FIELDS. */
  vnet: Uint16Array | null = null;
  /** virtio_net_hdr fields to send in front of each frame (vnetHdr only), same layout; null = zeros. */
  txVnet: Uint16Array | null = null;

  constructor(opts: AfPacketPortOptions) {
    const native = loadNative();
    const AfPacket = native.AfPacket as unknown as AfPacketVnetCtor;
    const vnetHdr = opts.vnetHdr ?? false;
    const v3 = opts.rxRingVersion === 3;
    const sock = withNetns(opts.netns, () => new AfPacket({
      interface: opts.interface,
      rxRingVersion: opts.rxRingVersion ?? AF_PACKET_DEFAULTS.rxRingVersion,
      blockSize: opts.blockSize ?? (v3 ? AF_PACKET_V3_DEFAULTS : AF_PACKET_DEFAULTS).blockSize,
      blockCount: opts.blockCount ?? (v3 ? AF_PACKET_V3_DEFAULTS : AF_PACKET_DEFAULTS).blockCount,
      frameSize: opts.frameSize ?? AF_PACKET_DEFAULTS.frameSize,
      blockTimeoutMs: opts.blockTimeoutMs ?? AF_PACKET_DEFAULTS.blockTimeoutMs,
      txRing: opts.txRing ?? AF_PACKET_DEFAULTS.txRing,
      txRingFrames: opts.txRingFrames ?? AF_PACKET_DEFAULTS.txRingFrames,
      txFrameSize: opts.txFrameSize,
      txWaitMs: opts.txWaitMs ?? AF_PACKET_DEFAULTS.txWaitMs,
      sndbuf: opts.sndbuf ?? 0,
      qdiscBypass: opts.qdiscBypass ?? false,
      promiscuous: opts.promiscuous ?? true,
      ignoreOutgoing: opts.ignoreOutgoing ?? true,
      allowDown: opts.allowDown ?? false,
      fanoutGroup: opts.fanout?.group,
      fanoutMode: opts.fanout ? FANOUT_MODES[opts.fanout.mode ?? 'hash'] : undefined,
      vnetHdr,
    }));
    if (vnetHdr && sock.vnetHdr !== true) {
      sock.close();
      throw new Error('AF_PACKET vnetHdr: the vtepd addon does not support it (rebuild it: npm run build:native)');
    }
    super(opts.name ?? opts.interface, opts.index ?? 0, sock, native);
  }

  /** How frames leave: 'ring' (PACKET_TX_RING, one send() per batch) or 'sendmmsg'. */
  get txMode(): 'ring' | 'sendmmsg' { return (this.sock as unknown as { txMode: 'ring' | 'sendmmsg' }).txMode; }
  /** 2 (TPACKET_V2) or 3 (TPACKET_V3). */
  get rxRingVersion(): number { return (this.sock as unknown as { rxRingVersion: number }).rxRingVersion; }

  /** Whether frames carry a virtio_net_hdr (PACKET_VNET_HDR). */
  get vnetHdr(): boolean { return this.sock.vnetHdr === true; }

  /**
   * The TX vnet array, made (zeroed) when missing or smaller than `batch` needs; fields keep
   * their values between transmits, so a caller sets or clears every slot it sends.
   */
  txVnetFor(batch: PacketBatch): Uint16Array {
    const need = batch.capacity * VNET_FIELDS;
    if (this.txVnet === null || this.txVnet.length < need) this.txVnet = new Uint16Array(need);
    return this.txVnet;
  }

  /**
   * Ask the kernel to complete packet i's checksum (CHECKSUM_PARTIAL): it sums from
   * `csumStart` (offset in the frame, e.g. the UDP header) to the end and stores the
   * result at csumStart + csumOffset (6 for UDP, 16 for TCP), where the frame must
   * already hold the pseudo-header sum. Other slots are left as they are.
   */
  setTxChecksumPartial(batch: PacketBatch, i: number, csumStart: number, csumOffset: number): void {
    const v = this.txVnetFor(batch);
    const o = i * VNET_FIELDS;
    v[o] = VNET.F_NEEDS_CSUM;
    v[o + 1] = VNET.GSO_NONE;
    v[o + 2] = 0;
    v[o + 3] = 0;
    v[o + 4] = csumStart;
    v[o + 5] = csumOffset;
  }

  protected override rxExtra(batch: PacketBatch): Uint16Array | undefined {
    if (this.sock.vnetHdr !== true) return undefined;
    const need = batch.capacity * VNET_FIELDS;
    if (this.vnet === null || this.vnet.length < need) this.vnet = new Uint16Array(need); // once per batch size
    return this.vnet;
  }

  protected override txExtra(batch: PacketBatch): Uint16Array | undefined {
    const v = this.txVnet;
    return v !== null && this.sock.vnetHdr === true && v.length >= batch.capacity * VNET_FIELDS ? v : undefined;
  }

  /** The addon's AfPacket object (for the native busy-poll set; opaque). */
  get nativeHandle(): unknown { return this.sock; }

  /** The socket fd (for a caller that wants its own readiness loop). */
  get fd(): number { return this.sock.fd ?? -1; }

  pollStats(): void {
    if (this.closed) return;
    const s = this.sock.stats(); // deltas since the previous call
    const c = this.counters;
    c.drops[PortDrop.kernel] += s.drops;
    // SO_MEMINFO drops: the socket's own count, apart from the ring's (tp_drops is not in it on this kernel).
    c.drops[PortDrop.socket] += s.socketDrops;
    c.drops[PortDrop.oversize] += s.oversize;
    c.kernelFreezes += s.freezeQueue;
    c.txFullEvents += s.txFullEvents;
    c.txSyscalls += s.txSyscalls;
    c.txRingRebuilds += s.txRebuilds;
  }
}

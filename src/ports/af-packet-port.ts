/**
 * AF_PACKET port: TPACKET_V3 mmap RX ring and sendmmsg TX in the native addon.
 * Its own transmitted frames are not read back (PACKET_IGNORE_OUTGOING plus a
 * pkttype check). Kernel ring drops come from PACKET_STATISTICS via pollStats().
 */
import { PortDrop } from './counters.js';
import { loadNative, type AfPacketNative, type AfPacketNativeOptions } from './native.js';
import { NativePort } from './native-port.js';
import { withNetns } from './netns.js';

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
}

export const AF_PACKET_DEFAULTS = { blockSize: 1 << 18, blockCount: 16, frameSize: 2048, blockTimeoutMs: 2 } as const;

export class AfPacketPort extends NativePort {
  readonly kind = 'afpacket' as const;
  declare protected readonly sock: AfPacketNative;

  constructor(opts: AfPacketPortOptions) {
    const native = loadNative();
    const sock = withNetns(opts.netns, () => new native.AfPacket({
      interface: opts.interface,
      blockSize: opts.blockSize ?? AF_PACKET_DEFAULTS.blockSize,
      blockCount: opts.blockCount ?? AF_PACKET_DEFAULTS.blockCount,
      frameSize: opts.frameSize ?? AF_PACKET_DEFAULTS.frameSize,
      blockTimeoutMs: opts.blockTimeoutMs ?? AF_PACKET_DEFAULTS.blockTimeoutMs,
      txWaitMs: opts.txWaitMs ?? 10,
      sndbuf: opts.sndbuf ?? 0,
      qdiscBypass: opts.qdiscBypass ?? false,
      promiscuous: opts.promiscuous ?? true,
      ignoreOutgoing: opts.ignoreOutgoing ?? true,
      allowDown: opts.allowDown ?? false,
      fanoutGroup: opts.fanout?.group,
      fanoutMode: opts.fanout ? FANOUT_MODES[opts.fanout.mode ?? 'hash'] : undefined,
    }));
    super(opts.name ?? opts.interface, opts.index ?? 0, sock, native);
  }

  /** The socket fd (for a caller that wants its own readiness loop). */
  get fd(): number { return this.sock.fd ?? -1; }

  pollStats(): void {
    if (this.closed) return;
    const s = this.sock.stats(); // deltas: the kernel resets them on read
    const c = this.counters;
    c.drops[PortDrop.kernel] += s.drops;
    c.drops[PortDrop.oversize] += s.oversize;
    c.kernelFreezes += s.freezeQueue;
  }
}

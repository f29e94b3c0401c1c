/**
 * AF_XDP port: vtepd's XDP program on the interface sends the frames the filter
 * picks to an AF_XDP socket per RX queue (UMEM + fill/completion/RX/TX rings in
 * the addon); the rest go on into the kernel. One native call per batch each
 * way, with the batch's BatchView; TX on one queue, at most one sendto() per
 * batch. Ring and socket drops come from XDP_STATISTICS via pollStats().
 */
import type { PacketBatch } from '../batch/packet-batch.js';
import { nativeBatchView } from '../batch/native-batch.js';
import { loadAfXdp, xskObjectPath, XSK_IO, type AfXdpNative, type XskFilter, type XskProgramNative } from '../native/af-xdp-native.js';
import { PortCounters, PortDrop } from './counters.js';
import { withNetns } from './netns.js';
import { aliveStats, type Port } from './port.js';

export type { XskFilter };

/** Ring and UMEM geometry (config keys of the same names; see docs/config-reference.md). */
export const AF_XDP_DEFAULTS = { frameSize: 2048, rxSize: 2048, txSize: 2048, fillSize: 2048, compSize: 2048 } as const;

export interface AfXdpPortOptions {
  interface: string;
  /** Port name for counters and logs (default: the interface name). */
  name?: string;
  /** Value written to batch.inPort (default 0). */
  index?: number;
  /** Open inside this network namespace (name under /run/netns, or a path). */
  netns?: string;
  /** RX queue to bind, or 'all' (default): one socket per queue, all drained by receive(). */
  queue?: number | 'all';
  /** UMEM frame size: 2048 or 4096 (a frame holds frameSize - 256 bytes). */
  frameSize?: number;
  /** UMEM frames (default fillSize + txSize: fillSize serve RX, the rest TX). */
  frames?: number;
  rxSize?: number;
  txSize?: number;
  fillSize?: number;
  compSize?: number;
  /** Socket mode: zero-copy where the driver has it (auto), or forced. */
  mode?: 'auto' | 'copy' | 'zerocopy';
  /** XDP attach mode: native (driver), generic (skb); auto tries native first. */
  xdpMode?: 'auto' | 'native' | 'generic';
  /** XDP_USE_NEED_WAKEUP (default true): syscalls only when the kernel asks for them. */
  needWakeup?: boolean;
  /** Frames the socket takes (default all); the rest continue into the kernel. */
  filter?: XskFilter;
}

export class AfXdpPort implements Port {
  readonly kind = 'afxdp' as const;
  readonly payload = 'ethernet' as const;
  readonly counters = new PortCounters();
  readonly name: string;
  readonly index: number;
  readonly program: XskProgramNative;
  readonly sockets: AfXdpNative[];
  /** Set when readiness reported an error (interface gone); the port then needs reopening. */
  pollError: string | null = null;
  private readonly tx: AfXdpNative;
  private closed = false;
  private next = 0;
  private readonly native = loadAfXdp();
  /** Event counters that are not drops (totals since open). */
  private readonly events = { txKicks: 0, rxWakeups: 0, batches: 0, txRingEmpty: 0, xdpTaken: 0, xdpPassed: 0, xdpNoSocket: 0 };

  constructor(opts: AfXdpPortOptions) {
    const n = this.native;
    this.name = opts.name ?? opts.interface;
    this.index = opts.index ?? 0;
    const { program, sockets } = withNetns(opts.netns, () => {
      const program = new n.XskProgram({
        interface: opts.interface, object: xskObjectPath(), xdpMode: opts.xdpMode ?? 'auto', filter: opts.filter ?? { mode: 'all' },
        attach: process.env.VTEPD_XDP_ATTACH === 'netlink' ? 'netlink' : 'auto', // netlink: what kernels before 5.9 do (tests)
      });
      const sockets: AfXdpNative[] = [];
      try {
        const queues = opts.queue === undefined || opts.queue === 'all' ? [...Array(program.queues).keys()] : [opts.queue];
        for (const q of queues) {
          sockets.push(new n.AfXdp({
            interface: opts.interface, queue: q, program,
            frameSize: opts.frameSize ?? AF_XDP_DEFAULTS.frameSize, frameCount: opts.frames,
            rxSize: opts.rxSize ?? AF_XDP_DEFAULTS.rxSize, txSize: opts.txSize ?? AF_XDP_DEFAULTS.txSize,
            fillSize: opts.fillSize ?? AF_XDP_DEFAULTS.fillSize, compSize: opts.compSize ?? AF_XDP_DEFAULTS.compSize,
            bindMode: opts.mode ?? 'auto', needWakeup: opts.needWakeup ?? true,
          }));
        }
      } catch (err) {
        for (const s of sockets) s.close();
        program.close();
        throw err;
      }
      return { program, sockets };
    });
    this.program = program;
    this.sockets = sockets;
    this.tx = sockets[0];
  }

  get interfaceName(): string { return this.program.interface; }
  get ifindex(): number { return this.program.ifindex; }

  receive(batch: PacketBatch): number {
    if (this.closed) return 0;
    const view = nativeBatchView(batch);
    const socks = this.sockets;
    const c = this.counters;
    let total = 0;
    // Round robin over the queues' sockets so a busy queue cannot starve the others.
    for (let k = 0; k < socks.length && batch.count < batch.capacity; k++) {
      const s = socks[(this.next + k) % socks.length];
      const n = s.rxBurst(view, batch.count, batch.capacity - batch.count, this.index);
      batch.count += n;
      total += n;
      c.rxBytes += s.io[XSK_IO.rxBytes];
    }
    if (socks.length > 1) this.next = (this.next + 1) % socks.length;
    c.rxPackets += total;
    return total;
  }

  transmit(batch: PacketBatch, start = 0, count = batch.count - start): number {
    if (count <= 0) return 0;
    const c = this.counters;
    if (this.closed) {
      const alive = aliveStats(batch, start, start + count);
      c.drops[PortDrop['tx-error']] += alive.frames;
      if (alive.frames > 0) c.lastTxError = 'EBADF';
      return 0;
    }
    const s = this.tx;
    const sent = s.txBurst(nativeBatchView(batch), start, count);
    const io = s.io;
    c.txPackets += sent;
    c.txBytes += io[XSK_IO.txBytes];
    if (io[XSK_IO.txRingFull] > 0) c.drops[PortDrop['tx-ring-full']] += io[XSK_IO.txRingFull];
    if (io[XSK_IO.txOversize] > 0) c.drops[PortDrop.oversize] += io[XSK_IO.txOversize];
    if (io[XSK_IO.txBadMeta] > 0) { c.drops[PortDrop['tx-error']] += io[XSK_IO.txBadMeta]; c.lastTxError = 'EINVAL'; }
    if (io[XSK_IO.txErrors] > 0) {
      c.drops[PortDrop['tx-error']] += io[XSK_IO.txErrors];
      const e = s.lastTxErrno();
      if (e !== 0) c.lastTxError = this.native.errnoName(e);
    }
    return sent;
  }

  onReadable(cb: (() => void) | null): void {
    if (this.closed) return;
    for (const s of this.sockets) {
      if (cb === null) s.stopPoll();
      else {
        s.startPoll((status) => {
          if (status < 0) this.pollError = `readiness failed (libuv status ${status}): interface gone or socket error`;
          cb();
        });
      }
    }
  }

  pollStats(): void {
    if (this.closed) return;
    const c = this.counters;
    const e = this.events;
    for (const s of this.sockets) {
      const st = s.stats();
      c.drops[PortDrop.kernel] += st.rxDropped;
      c.drops[PortDrop['xsk-rx-ring-full']] += st.rxRingFull;
      c.drops[PortDrop['xsk-fill-empty']] += st.rxFillRingEmpty;
      c.drops[PortDrop['xsk-invalid-desc']] += st.rxInvalidDescs + st.txInvalidDescs;
      c.drops[PortDrop.oversize] += st.oversize;
      e.txKicks += st.txKicks;
      e.rxWakeups += st.rxWakeups;
      e.batches += st.batches;
      e.txRingEmpty += st.txRingEmpty;
    }
    const x = this.program.counters();
    e.xdpTaken = x.taken;
    e.xdpPassed = x.passed;
    e.xdpNoSocket = x.noSocket;
  }

  /** Change which frames the socket takes (underlay: tunnel ports and address after a reload). */
  setFilter(f: XskFilter): void {
    if (!this.closed) this.program.setFilter(f);
  }

  details(): Record<string, string | number | boolean | null> {
    const p = this.program;
    return {
      xdpMode: p.mode, attachedVia: p.attachedVia, progId: p.progId, nativeError: p.nativeError,
      replaced: p.replaced === null ? null : `${p.replaced.name} id ${p.replaced.id} (${p.replaced.mode})`,
      socketMode: this.tx.zeroCopy ? 'zerocopy' : 'copy', zeroCopyError: this.tx.zeroCopyError,
      queues: this.sockets.map((s) => s.queue).join(','), needWakeup: this.tx.needWakeup, txBudget: this.tx.txBudget,
      ...this.events,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.pollStats();
    this.closed = true;
    for (const s of this.sockets) s.close();
    this.program.close(); // detaches the XDP program: nothing stays on the interface
  }
}

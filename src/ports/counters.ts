import { DROP_CODES, PORT_DROP_REASONS, codesOf } from '../batch/drop-reasons.js';

/**
 * Port counters, Snabb style: `in-`/`out-`/`drop-` names derived from one list of
 * drop reasons. Kept as plain numbers (Float64, exact up to 2^53) and written once
 * per batch by the ports, read by metrics and `vtepd ports`.
 */

/** Why a port dropped a frame: the ports' section of the global registry (src/batch/drop-reasons.ts). */
export { PORT_DROP_REASONS };
export type PortDropReason = (typeof PORT_DROP_REASONS)[number];
/** Registry code of each reason (index of `PortCounters.drops`). */
export const PortDrop = codesOf(PORT_DROP_REASONS);

export class PortCounters {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** Per reason, indexed by registry code (only the ports' codes are used). */
  readonly drops = new Float64Array(DROP_CODES);
  /** Kernel ring/queue freezes (TPACKET_V3 tp_freeze_q_cnt): the ring was full. */
  kernelFreezes = 0;
  /** Transmit bursts that found the TX ring, socket buffer or tun queue full and had to wait (events, not frames). */
  txFullEvents = 0;
  /** Transmit system calls (send, sendmmsg): with a TX ring about one per batch. */
  txSyscalls = 0;
  /** TX ring rebuilt because the kernel refused a frame the port's checks let through (TP_STATUS_WRONG_FORMAT). */
  txRingRebuilds = 0;
  /** Last transmit error as an errno name (e.g. ENETDOWN), '' when none. */
  lastTxError = '';

  get totalDrops(): number {
    let s = 0;
    for (let i = 1; i < this.drops.length; i++) s += this.drops[i];
    return s;
  }

  /** Frames the kernel dropped before vtepd read them: AF_PACKET ring drops, AF_XDP socket and ring drops. */
  get kernelDrops(): number {
    return this.drops[PortDrop.kernel] + this.drops[PortDrop['xsk-rx-ring-full']] + this.drops[PortDrop['xsk-fill-empty']];
  }

  /** Non-zero drops by reason (`vtepd ports`, metrics). */
  dropReasons(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of PORT_DROP_REASONS) if (this.drops[PortDrop[r]] > 0) out[r] = this.drops[PortDrop[r]];
    return out;
  }

  /** Flat name → value map: in-packets, out-bytes, drop-kernel, ... */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {
      'in-packets': this.rxPackets,
      'in-bytes': this.rxBytes,
      'out-packets': this.txPackets,
      'out-bytes': this.txBytes,
      'kernel-freezes': this.kernelFreezes,
      'tx-full-events': this.txFullEvents,
      'tx-syscalls': this.txSyscalls,
      'tx-ring-rebuilds': this.txRingRebuilds,
    };
    for (const r of PORT_DROP_REASONS) out[`drop-${r}`] = this.drops[PortDrop[r]];
    return out;
  }
}

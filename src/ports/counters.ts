/**
 * Port counters, Snabb style: `in-`/`out-`/`drop-` names derived from one list of
 * drop reasons. Kept as plain numbers (Float64, exact up to 2^53) and written once
 * per batch by the ports, read by metrics and `vtepd ports`.
 */

/** Why a port dropped a frame. Code = index + 1 (0 means alive). */
export const PORT_DROP_REASONS = [
  'kernel', // the kernel dropped it before we read it (PACKET_STATISTICS tp_drops, pcap ps_drop)
  'oversize', // larger than the batch slot (dataRoom) or shorter than an Ethernet header
  'staging-full', // event-driven backends (cap, udp): staging ring full before receive() drained it
  'tx-error', // the kernel refused the frame, or the send call failed (errno kept in lastTxError)
  'no-route', // underlay: no destination could be derived from the frame
  'tx-ring-full', // TX ring / socket send buffer / tun queue still full after the port's wait (backpressure)
  'socket', // the socket itself dropped it (SO_MEMINFO drops beyond the RX ring's own count)
] as const;
export type PortDropReason = (typeof PORT_DROP_REASONS)[number];
export const PortDrop = Object.fromEntries(PORT_DROP_REASONS.map((r, i) => [r, i + 1])) as { [K in PortDropReason]: number };

export class PortCounters {
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** Per reason, indexed by code (slot 0 unused). */
  readonly drops = new Float64Array(PORT_DROP_REASONS.length + 1);
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

  get kernelDrops(): number {
    return this.drops[PortDrop.kernel];
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
    for (let i = 0; i < PORT_DROP_REASONS.length; i++) out[`drop-${PORT_DROP_REASONS[i]}`] = this.drops[i + 1];
    return out;
  }
}

/**
 * The daemon's counters as plain data: what `vtepd stats`, `vtepd ports`, the
 * Prometheus endpoint and the final SIGTERM log line all print. The data path
 * keeps these as integers in typed arrays; a snapshot is taken only on demand.
 */

export interface PortStats {
  name: string;
  interface: string;
  backend: string;
  role: 'local' | 'underlay';
  vni: number | null;
  vlan: number | null;
  up: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Frames this port refused (oversize, tx ring full, ...). */
  drops: number;
  /** Frames the kernel dropped before we read them (PACKET_STATISTICS tp_drops; AF_XDP socket and ring drops). */
  kernelDrops: number;
  /**
   * Every non-zero drop reason of this port (ports/counters.ts PORT_DROP_REASONS): kernel (RX ring
   * full), socket (the socket's own drops), oversize, tx-ring-full (TX ring / send buffer full after the
   * wait), tx-error (refused by the kernel), ... Absent from daemons that do not report them.
   */
  dropReasons?: Record<string, number>;
  /** Transmit bursts that found the TX ring / send buffer full and waited (events, not frames). */
  txFullEvents?: number;
  /** Transmit system calls: with the TX ring about one per batch. */
  txSyscalls?: number;
  /** The error of the last failed transmit (errno name), '' when none. */
  lastTxError?: string;
  /** Backend facts and event counters (AF_XDP: XDP mode, copy/zero-copy, queues, kicks). */
  details?: Record<string, string | number | boolean | null>;
}

export interface NetworkStats {
  vni: number;
  name: string | null;
  type: string;
  remotes: string[];
  flooded: number;
  unicast: number;
  learned: number;
  moved: number;
  aged: number;
  dropped: number;
  fdbEntries: number;
}

/**
 * `seconds` estimates the time over all frames from the timed batches (1 in 16): a ratio that
 * can move down between two snapshots. A window's estimate takes the deltas of the timed
 * part (`sampledSeconds` over `sampledPackets`) times the window's frames, which cannot.
 */
export interface StageStats { stage: string; batches: number; packets: number; seconds: number; sampledSeconds?: number; sampledPackets?: number }

export interface StatsSnapshot {
  uptimeSeconds: number;
  ports: PortStats[];
  networks: NetworkStats[];
  stages: StageStats[];
  /** Drops by stage and reason (e.g. decap/unknown-vni); only non-zero ones. */
  drops: Record<string, number>;
  /** Where each function runs (the config's offload plan: host = TypeScript, native = C). */
  offload: Record<string, string>;
  /** The FDB's maximum entries, shared by all networks (fdb.maxEntries); absent where not known. */
  fdbCapacity?: number;
  /**
   * offload xdp: the programs' counters (frames redirected by the fast path, passed up
   * to the slow path by reason, hostile frames dropped by reason) and the FDB mirror's.
   */
  xdp?: Record<string, number>;
  /**
   * AF_PACKET underlay: the tcx program that keeps tunnel frames vtepd has read from the host
   * stack (src/ports/host-stack-bypass.ts): on with its counts (dropped = frames the stack was
   * spared), or off and why. Absent where the daemon has no userspace underlay.
   */
  hostStackBypass?: { interface: string; state: 'on' | 'off'; reason?: string; dropped: number; passed: number };
}

/**
 * The addon's AF_XDP exports (native-bindings/src/af_xdp.cc, xsk_program.cc,
 * xdp_probe.cc) as TypeScript shapes, and where the XDP program object
 * (native-bindings/build/bpf/vtepd_xsk.bpf.o, built by scripts/build-bpf.sh) is.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from './addon.js';

/** Which frames the socket takes; the rest go on into the kernel. */
export type XskFilter =
  | { mode: 'all' }
  | { mode: 'vlans'; vlans: number[]; untagged: boolean }
  | { mode: 'tunnel'; udpPorts: number[]; gre: boolean; address?: string };

export interface XskProgramOptions {
  interface: string;
  /** Path of vtepd_xsk.bpf.o. */
  object: string;
  /** XSKMAP size (default: the interface's queue count). */
  queues?: number;
  /** XDP attach mode: native (driver), generic (skb), auto = native, else generic. */
  xdpMode?: 'auto' | 'native' | 'generic';
  filter?: XskFilter;
  /** 'netlink': attach without a bpf_link, as on kernels before 5.9 (the program then outlives a killed process). */
  attach?: 'auto' | 'netlink';
}
export interface XskProgramNative {
  readonly interface: string;
  readonly ifindex: number;
  /** Queues an AF_XDP socket can bind (min of RX and TX queues). */
  readonly queues: number;
  readonly queueSource: string;
  readonly mode: 'native' | 'generic';
  readonly attachedVia: 'link' | 'netlink';
  readonly progId: number;
  /** Why native mode was not used when xdpMode auto fell back to generic. */
  readonly nativeError: string | null;
  /** A leftover vtepd program this attach replaced. */
  readonly replaced: { id: number; name: string; mode: string } | null;
  setFilter(f: XskFilter): void;
  /** Totals since attach: redirected to a socket, left to the kernel by the filter, no socket on the queue. */
  counters(): { taken: number; passed: number; noSocket: number };
  close(): void;
}

export interface AfXdpNativeOptions {
  interface: string;
  queue: number;
  program: XskProgramNative;
  frameSize?: number;
  frameCount?: number;
  rxSize?: number;
  txSize?: number;
  fillSize?: number;
  compSize?: number;
  bindMode?: 'auto' | 'copy' | 'zerocopy';
  needWakeup?: boolean;
}
/** Deltas since the previous call. */
export interface AfXdpStats {
  rxDropped: number; rxInvalidDescs: number; txInvalidDescs: number; rxRingFull: number; rxFillRingEmpty: number; txRingEmpty: number;
  oversize: number; txRingFull: number; txOversize: number; txBadMeta: number; txKicks: number; txKickErrors: number; rxWakeups: number;
  batches: number; txFramesFree: number;
}
/** io[] slots written by each burst (read without allocating a result object). */
export const XSK_IO = { rxBytes: 0, txBytes: 1, txRingFull: 2, txOversize: 3, txBadMeta: 4, txErrors: 5 } as const;

export interface AfXdpNative {
  readonly interface: string;
  readonly ifindex: number;
  readonly queue: number;
  readonly fd: number;
  readonly zeroCopy: boolean;
  readonly zeroCopyError: string | null;
  readonly needWakeup: boolean;
  readonly txBudget: number;
  readonly umemBytes: number;
  readonly maxFrame: number;
  readonly io: Float64Array;
  /** `view`: the batch's BatchView (src/batch/native-batch.ts). */
  rxBurst(view: object, start: number, max: number, inPort: number): number;
  txBurst(view: object, start: number, count: number): number;
  stats(): AfXdpStats;
  lastTxErrno(): number;
  startPoll(cb: (status: number) => void): void;
  stopPoll(): void;
  close(): void;
}

export interface XdpProbeNative {
  interface: string;
  ifindex: number;
  socketErrno: string | null;
  queues?: number;
  queueSource?: string;
  driver?: string;
  features?: { known: boolean; native: boolean; zeroCopy: boolean; zcMaxSegs: number; why: string };
  queryErrno?: string | null;
  attached?: { id: number; name: string; mode: string; ours: boolean; viaLink: boolean; remove: string } | null;
}

export interface AfXdpAddon {
  XskProgram: new (o: XskProgramOptions) => XskProgramNative;
  AfXdp: new (o: AfXdpNativeOptions) => AfXdpNative;
  xdpProbe(ifname: string): XdpProbeNative;
  errnoName(errno: number): string;
}

/** The addon with its AF_XDP exports, or a clear error when it predates them. */
export function loadAfXdp(): AfXdpAddon {
  const n = loadNative() as unknown as Partial<AfXdpAddon>;
  if (typeof n.AfXdp !== 'function' || typeof n.XskProgram !== 'function' || typeof n.xdpProbe !== 'function') {
    throw new Error('the vtepd addon has no AF_XDP support: rebuild it (npm run build:native)');
  }
  return n as AfXdpAddon;
}

/** A compiled eBPF object of native-bindings/bpf: in $VTEPD_BPF_DIR, else native-bindings/build/bpf found by walking up from here. */
export function bpfObjectPath(name: string): string {
  if (process.env.VTEPD_BPF_DIR) return join(process.env.VTEPD_BPF_DIR, name);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    if (existsSync(join(dir, 'native-bindings', 'binding.gyp'))) return join(dir, 'native-bindings', 'build', 'bpf', name);
    dir = dirname(dir);
  }
  return join('native-bindings', 'build', 'bpf', name);
}

/** vtepd_xsk.bpf.o, the AF_XDP port's program. */
export function xskObjectPath(): string {
  return bpfObjectPath('vtepd_xsk.bpf.o');
}

/**
 * Loader for the native addon (native-bindings/, built by `npm run build:native`,
 * which `npm ci` runs through "prepare"). Found by walking up from this module, so
 * it works from `dist/src/ports/` and from `src/ports/` (tests) alike.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Opaque handle of the addon's BatchView (native-bindings/src/batch_view.h): the
 * pointers of one PacketBatch, taken once; made by src/batch/native-batch.ts.
 * The view holds its batch, and V8 never moves a typed array's memory once it was
 * handed out, so the addon may keep and reuse these pointers across calls.
 */
export interface NativeBatchView { readonly __nativeBatchView: unique symbol }

/** Batch-facing call shape shared by AF_PACKET and TAP (one N-API crossing per batch). */
export interface NativeRxTx {
  readonly fd?: number;
  readonly interface: string;
  readonly ifindex: number;
  /** Copy up to `max` ready frames into slots start..; returns how many (never waits). */
  rxBurst(view: NativeBatchView, start: number, max: number, vnet?: Uint16Array): number;
  /** Send the alive frames of slots [start, start+count); returns how many were sent. */
  txBurst(view: NativeBatchView, start: number, count: number, vnet?: Uint16Array): number;
  lastTxErrno(): number;
  /** Of the frames the last txBurst did not send, how many found the ring / queue full (the rest were refused). */
  lastTxFull(): number;
  startPoll(cb: (status: number) => void): void;
  stopPoll(): void;
  close(): void;
}

export interface AfPacketNativeOptions {
  /** Interface to bind to (must exist, and be up unless allowDown). */
  interface: string;
  /**
   * RX ring: 2 = TPACKET_V2 (default: a frame is readable as soon as the kernel wrote it),
   * 3 = TPACKET_V3 (frames in blocks handed over when full or after blockTimeoutMs).
   */
  rxRingVersion?: 2 | 3;
  /** RX ring geometry: block size (power of two >= page), block count, frame size, block retire timeout (V3). */
  blockSize?: number;
  blockCount?: number;
  frameSize?: number;
  blockTimeoutMs?: number;
  /** Transmit through a PACKET_TX_RING (default true: one send() per batch) instead of sendmmsg. */
  txRing?: boolean;
  /** TX ring slots (default 512) and slot size (default frameSize). */
  txRingFrames?: number;
  txFrameSize?: number;
  /** On a full TX ring or socket send buffer, wait up to this long for room before counting tx drops (default 10). */
  txWaitMs?: number;
  /** SO_SNDBUF(FORCE) in bytes; 0 keeps the kernel default. */
  sndbuf?: number;
  /** Do not see transmitted frames (default true). */
  ignoreOutgoing?: boolean;
  /** Promiscuous membership (default true: a VTEP port sees frames for MACs behind it). */
  promiscuous?: boolean;
  /** Skip the qdisc on transmit (PACKET_QDISC_BYPASS): faster, no traffic shaping. */
  qdiscBypass?: boolean;
  /** Open even if the link is administratively down (default false: ENETDOWN error). */
  allowDown?: boolean;
  /** PACKET_FANOUT group id and mode (FANOUT_MODES value). */
  fanoutGroup?: number;
  fanoutMode?: number;
}
/** Deltas since the previous stats() call. */
export interface AfPacketStats {
  /** PACKET_STATISTICS: frames seen, frames the RX ring had no room for, V3 queue freezes. */
  packets: number; drops: number; freezeQueue: number;
  /** The socket's own drop count (SO_MEMINFO SK_MEMINFO_DROPS). */
  socketDrops: number;
  oversize: number; outgoing: number;
  /** TX: send/sendmmsg calls, bursts that found the ring or socket buffer full, ring rebuilds, frames refused. */
  txSyscalls: number; txFullEvents: number; txRebuilds: number; txRefused: number;
}
export interface AfPacketNative extends NativeRxTx { stats(): AfPacketStats }

export interface TapNativeOptions {
  name?: string;
  vnetHdr?: 0 | 10 | 12;
  offloads?: number;
  persist?: boolean;
  up?: boolean;
  mtu?: number;
}
export interface TapNative extends NativeRxTx {
  readonly created: boolean;
  readonly vnetHdr: number;
  stats(): { oversize: number; txFullEvents: number };
  setUp(up?: boolean): void;
}

export interface NativeAddon {
  AfPacket: new (opts: AfPacketNativeOptions) => AfPacketNative;
  Tap: new (opts: TapNativeOptions) => TapNative;
  netnsEnter(path: string): number;
  netnsRestore(fd: number): void;
  errnoName(errno: number): string;
  udpSink(address: string, port: number, ifname?: string): number;
  closeFd(fd: number): void;
}

const ADDON_REL = join('native-bindings', 'build', 'Release', 'vtepd_native.node');
let cached: NativeAddon | null = null;

/** Where the built addon is (or would be): VTEPD_NATIVE, else the nearest native-bindings/ above this file, from src/ or dist/src/. */
export function findAddon(): string | null {
  const override = process.env.VTEPD_NATIVE;
  if (override) return override;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    if (existsSync(join(dir, 'native-bindings', 'binding.gyp'))) return join(dir, ADDON_REL);
    dir = dirname(dir);
  }
  return null;
}

/** The addon, loaded once; throws a clear error when it was not built. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = findAddon();
  if (path === null || !existsSync(path)) {
    throw new Error(`vtepd native addon is not built (${path ?? ADDON_REL} is missing): run \`npm run build:native\` ` +
      '(needs a C++ compiler, make, python3 and the Node headers); AF_PACKET and TAP ports need it, cap/pcap/udp ports do not');
  }
  if (process.platform !== 'linux') throw new Error('AF_PACKET and TAP ports need Linux');
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeAddon;
  return cached;
}

/** True when the addon can be loaded (for tests and `vtepd ports` to say what is available). */
export function nativeAvailable(): boolean {
  try { loadNative(); return true; } catch { return false; }
}

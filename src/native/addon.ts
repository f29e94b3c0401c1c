/**
 * Loader for the native addon (native-bindings/, built by `npm run build:native`,
 * which `npm ci` runs through "prepare"). Found by walking up from this module, so
 * it works from `dist/src/ports/` and from `src/ports/` (tests) alike.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Batch-facing call shape shared by AF_PACKET and TAP (one N-API crossing per batch). */
export interface NativeRxTx {
  readonly fd?: number;
  readonly interface: string;
  readonly ifindex: number;
  rxBurst(data: Uint8Array, offset: Uint32Array, length: Uint32Array, wireLength: Uint32Array, tsSec: Float64Array,
    tsNsec: Uint32Array, start: number, max: number, slotSize: number, headroom: number, dataRoom: number, vnet?: Uint16Array): number;
  txBurst(data: Uint8Array, offset: Uint32Array, length: Uint32Array, drop: Uint8Array, start: number, count: number, vnet?: Uint16Array): number;
  lastTxErrno(): number;
  startPoll(cb: (status: number) => void): void;
  stopPoll(): void;
  close(): void;
}

export interface AfPacketNativeOptions {
  /** Interface to bind to (must exist, and be up unless allowDown). */
  interface: string;
  /** RX ring geometry: block size (power of two >= page), block count, frame size, block retire timeout. */
  blockSize?: number;
  blockCount?: number;
  frameSize?: number;
  blockTimeoutMs?: number;
  /** On a full socket send buffer, wait up to this long for room before counting tx drops (default 10). */
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
export interface AfPacketStats { packets: number; drops: number; freezeQueue: number; oversize: number; outgoing: number }
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
  stats(): { oversize: number };
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

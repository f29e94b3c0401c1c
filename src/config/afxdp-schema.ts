/**
 * The `afxdp` options of a port (`backend: afxdp`) and of the underlay
 * (`transport: afxdp`): ring and UMEM geometry, socket and attach modes. No
 * defaults in the schema (a port of another backend gets no `afxdp` key);
 * the AF_XDP port applies them (src/ports/af-xdp-port.ts, AF_XDP_DEFAULTS).
 */

const POW2 = [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;

export interface AfXdpConfig {
  /** RX queue to bind, or 'all' (one socket per queue). Default 'all'. */
  queue?: number | 'all';
  /** Socket mode: zero-copy where the driver offers it (auto), or forced. Default auto. */
  mode?: 'auto' | 'copy' | 'zerocopy';
  /** XDP attach mode: native (in the driver), generic (any device, slower); auto = native else generic. */
  xdpMode?: 'auto' | 'native' | 'generic';
  /** UMEM frame size (a frame holds frameSize - 256 bytes of packet). Default 2048. */
  frameSize?: 2048 | 4096;
  /** UMEM frames; default fillSize + txSize. */
  frames?: number;
  rxSize?: number;
  txSize?: number;
  fillSize?: number;
  compSize?: number;
  /** XDP_USE_NEED_WAKEUP: syscalls only when the kernel asks for them. Default true. */
  needWakeup?: boolean;
  /** Ports only: which frames vtepd takes; `vlans` leaves frames of other VLANs to the kernel. Default all. */
  take?: 'all' | 'vlans';
}

const common = {
  queue: { anyOf: [{ const: 'all' }, { type: 'integer', minimum: 0, maximum: 4095 }] },
  mode: { enum: ['auto', 'copy', 'zerocopy'] },
  xdpMode: { enum: ['auto', 'native', 'generic'] },
  frameSize: { enum: [2048, 4096] },
  frames: { type: 'integer', minimum: 128, maximum: 1048576 },
  rxSize: { enum: POW2 },
  txSize: { enum: POW2 },
  fillSize: { enum: POW2 },
  compSize: { enum: POW2 },
  needWakeup: { type: 'boolean' },
} as const;

export const afxdpPortSchema = { type: 'object', additionalProperties: false, properties: { ...common, take: { enum: ['all', 'vlans'] } } } as const;
export const afxdpUnderlaySchema = { type: 'object', additionalProperties: false, properties: common } as const;

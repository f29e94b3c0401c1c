/**
 * The `vtepd run` configuration, declared as data (JSON Schema for ajv) so it
 * is checked before anything is built (the Snabb idea: an app's config schema
 * lives beside it). Defaults live in the schema too; ajv fills them in, and
 * `--check` prints the result. Cross-references (ports named by networks,
 * address families, static FDB entries) are checked in config-load.ts, since
 * JSON Schema cannot express them.
 */
import { offloadPlanSchema, type OffloadPlan } from '../offload/plan-schema.js';
import { afxdpPortSchema, afxdpUnderlaySchema, type AfXdpConfig } from './afxdp-schema.js';
import { evpnSchema, networkEvpnProperties, CONTROL_PLANES, type EvpnConfig, type ControlPlane } from './evpn-config.js';

export type { AfXdpConfig };

import { DEFAULT_SOCKET, DEFAULT_METRICS_LISTEN } from './defaults.js';
export { DEFAULT_SOCKET, DEFAULT_METRICS_LISTEN };
export const TUNNEL_TYPES = ['vxlan', 'geneve', 'nvgre'] as const;
export const PORT_BACKENDS = ['afpacket', 'afxdp', 'tap', 'cap', 'pcap'] as const;
export const UNDERLAY_TRANSPORTS = ['afpacket', 'afxdp', 'udp', 'raw'] as const;
export const FULL_POLICIES = ['stop', 'evict-oldest'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** IANA ports: VXLAN 4789 (RFC 7348), GENEVE 6081 (RFC 8926). NVGRE has none (IP proto 47). */
export const DEFAULT_UDP_PORT = { vxlan: 4789, geneve: 6081, nvgre: 0 } as const;

export type TunnelType = (typeof TUNNEL_TYPES)[number];
export type PortBackend = (typeof PORT_BACKENDS)[number];
export type UnderlayTransport = (typeof UNDERLAY_TRANSPORTS)[number];

export interface GeneveOption { class: number; type: number; data: string; critical: boolean }
export interface StaticFdbEntry { vni: number; mac: string; port?: string; remote?: string }

export interface UnderlayConfig {
  interface: string;
  address: string;
  transport: UnderlayTransport;
  mtu: number;
  /** Next-hop MAC for every remote; when absent it is resolved (ARP/ND, neighbour table). */
  nextHopMac?: string;
  ttl: number;
  udpChecksum: boolean;
  /** transport afpacket: drop the tunnel frames vtepd has read at tc ingress, before the host stack (src/ports/host-stack-bypass.ts). */
  stackBypass: boolean;
  /** transport afxdp: socket options (src/config/afxdp-schema.ts). */
  afxdp?: AfXdpConfig;
}
export interface PortConfig {
  name: string;
  interface: string;
  backend: PortBackend;
  vlan?: number;
  filter?: string;
  /** pcap backend: file to replay in and/or record out. */
  readFile?: string;
  writeFile?: string;
  /** backend afxdp: socket options (src/config/afxdp-schema.ts). */
  afxdp?: AfXdpConfig;
}
export interface NetworkConfig {
  name?: string;
  vni: number;
  type: TunnelType;
  ports: string[];
  remotes: string[];
  udpPort: number;
  geneveOptions: GeneveOption[];
  ageing?: number;
  /** EVPN (control-plane: evpn): route distinguisher and route targets; derived when absent (src/config/evpn-config.ts). */
  rd?: string;
  rt?: string[];
}
export interface FdbConfig {
  ageing: number;
  maxEntries: number;
  perPortLimit: number;
  perRemoteLimit: number;
  full: (typeof FULL_POLICIES)[number];
  static: StaticFdbEntry[];
}
/** Ring and polling settings of every AF_PACKET port and the AF_PACKET underlay (see docs/config-reference.md). */
export interface AfPacketConfig {
  /** RX ring: v2 (a frame is readable as soon as it arrived) or v3 (blocks, retired when full or after 2 ms). */
  rxRing: 'v2' | 'v3';
  /** RX ring size in frames of 2 KiB. */
  rxRingFrames: number;
  /** Transmit through a PACKET_TX_RING (one send() per batch); false: sendmmsg. */
  txRing: boolean;
  txRingFrames: number;
  /** PACKET_QDISC_BYPASS: skip the qdisc (and tcpdump's view of what we send). */
  qdiscBypass: boolean;
  /** Keep polling the rings this long after the last frame before sleeping (0: sleep at once). */
  busyPollUs: number;
  /** How long a transmit waits for a full TX ring / send buffer before counting the rest as dropped. */
  txWaitMs: number;
}
export interface VtepdConfig {
  underlay: UnderlayConfig;
  ports: PortConfig[];
  networks: NetworkConfig[];
  fdb: FdbConfig;
  control: { socket: string };
  metrics: { enabled: boolean; listen: string };
  log: { level: (typeof LOG_LEVELS)[number] };
  batch: { size: number };
  afpacket: AfPacketConfig;
  /** Where each function runs (host = TypeScript, native = C in the addon); see src/offload/plan-schema.ts. */
  offload: OffloadPlan;
  /** Where remote VTEPs and MACs come from: `static` (remotes + flood-and-learn) or `evpn` (a BGP speaker). */
  'control-plane': ControlPlane;
  evpn: EvpnConfig;
}

const name = { type: 'string', minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.:-]+$' } as const;
const mac = { type: 'string', pattern: '^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$' } as const;
const vni = { type: 'integer', minimum: 0, maximum: 16777215 } as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['underlay', 'networks'],
  properties: {
    underlay: {
      type: 'object',
      additionalProperties: false,
      required: ['interface', 'address'],
      properties: {
        interface: name,
        address: { type: 'string', minLength: 2 },
        transport: { enum: UNDERLAY_TRANSPORTS, default: 'afpacket' },
        mtu: { type: 'integer', minimum: 576, maximum: 65535, default: 1500 },
        nextHopMac: mac,
        ttl: { type: 'integer', minimum: 1, maximum: 255, default: 64 },
        udpChecksum: { type: 'boolean', default: false },
        stackBypass: { type: 'boolean', default: true },
        afxdp: afxdpUnderlaySchema,
      },
    },
    ports: {
      type: 'array',
      default: [],
      maxItems: 1024,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' },
          interface: name,
          backend: { enum: PORT_BACKENDS, default: 'afpacket' },
          vlan: { type: 'integer', minimum: 1, maximum: 4094 },
          filter: { type: 'string', minLength: 1, maxLength: 4096 },
          readFile: { type: 'string', minLength: 1 },
          writeFile: { type: 'string', minLength: 1 },
          afxdp: afxdpPortSchema,
        },
      },
    },
    networks: {
      type: 'array',
      minItems: 1,
      maxItems: 4096,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['vni', 'type'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 64 },
          vni,
          type: { enum: TUNNEL_TYPES },
          ports: { type: 'array', items: { type: 'string' }, default: [], uniqueItems: true },
          remotes: { type: 'array', items: { type: 'string' }, default: [], uniqueItems: true, maxItems: 4096 },
          udpPort: { type: 'integer', minimum: 1, maximum: 65535 },
          geneveOptions: {
            type: 'array',
            default: [],
            maxItems: 16,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['class', 'type'],
              properties: {
                class: { type: 'integer', minimum: 0, maximum: 65535 },
                type: { type: 'integer', minimum: 0, maximum: 255 },
                // Option data is a multiple of 4 bytes, at most 124 (5-bit length in words).
                data: { type: 'string', pattern: '^([0-9A-Fa-f]{8}){0,31}$', default: '' },
                critical: { type: 'boolean', default: false },
              },
            },
          },
          ageing: { type: 'integer', minimum: 1, maximum: 86400 },
          ...networkEvpnProperties,
        },
      },
    },
    fdb: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ageing: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
        maxEntries: { type: 'integer', minimum: 16, maximum: 16777216, default: 65536 },
        perPortLimit: { type: 'integer', minimum: 0, default: 0 },
        perRemoteLimit: { type: 'integer', minimum: 0, default: 0 },
        full: { enum: FULL_POLICIES, default: 'stop' },
        static: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['vni', 'mac'],
            properties: { vni, mac, port: { type: 'string' }, remote: { type: 'string' } },
          },
        },
      },
    },
    control: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { socket: { type: 'string', minLength: 1, maxLength: 107, default: DEFAULT_SOCKET } },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        listen: { type: 'string', minLength: 3, default: DEFAULT_METRICS_LISTEN },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: LOG_LEVELS, default: 'info' } },
    },
    batch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { size: { type: 'integer', minimum: 1, maximum: 1024, default: 64 } },
    },
    afpacket: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        rxRing: { enum: ['v2', 'v3'], default: 'v2' },
        rxRingFrames: { type: 'integer', minimum: 64, maximum: 131072, default: 2048 },
        txRing: { type: 'boolean', default: true },
        txRingFrames: { type: 'integer', minimum: 16, maximum: 65536, default: 512 },
        qdiscBypass: { type: 'boolean', default: false },
        busyPollUs: { type: 'integer', minimum: 0, maximum: 1000000, default: 0 },
        txWaitMs: { type: 'integer', minimum: 0, maximum: 1000, default: 10 },
      },
    },
    offload: offloadPlanSchema,
    'control-plane': { enum: CONTROL_PLANES, default: 'static' },
    evpn: evpnSchema,
  },
} as const;

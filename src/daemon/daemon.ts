/**
 * `vtepd run`: pick the backend for a config's offload plan and wrap it in the
 * one lifecycle (lifecycle.ts). A new data path is a Backend (backend.ts) plus
 * one entry in BACKENDS, tried in order: the first whose `handles` says yes runs.
 */
import type { Logger } from 'pino';
import type { VtepdConfig } from '../config/config-schema.js';
import type { Backend, BackendContext } from './backend.js';
import { KernelBackend } from './kernel-backend.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger } from './logger.js';
import { evpnPlaneFor } from './evpn-plane.js';
import { UserspaceBackend } from './userspace-backend.js';
import { XdpBackend } from './xdp-backend.js';
import { xdpDataPath } from '../pipeline/run-plan.js';

export interface BackendEntry {
  name: string;
  handles(cfg: VtepdConfig): boolean;
  create(ctx: BackendContext): Backend;
}

export const BACKENDS: BackendEntry[] = [
  // encap-decap kernel (forwarding-learning kernel too, the config loader saw to that): vtepd only programs the kernel's datapath.
  { name: 'kernel', handles: (cfg) => cfg.offload['encap-decap'] === 'kernel', create: (ctx) => new KernelBackend(ctx) },
  // encap-decap and forwarding-learning xdp: vtepd's eBPF programs in front, the userspace path behind them.
  { name: 'xdp', handles: (cfg) => xdpDataPath(cfg.offload), create: (ctx) => new XdpBackend(ctx) },
  { name: 'userspace', handles: () => true, create: (ctx) => new UserspaceBackend(ctx) },
];

export interface DaemonOptions { configFile: string; cfg: VtepdConfig; logger?: Logger }

/** The daemon for `cfg`: call start(), then wait for `done`. */
export function createDaemon(o: DaemonOptions): Lifecycle {
  const log = o.logger ?? createLogger(o.cfg.log.level);
  const entry = BACKENDS.find((b) => b.handles(o.cfg))!;
  const backend = entry.create({ configFile: o.configFile, log });
  const d = new Lifecycle({ configFile: o.configFile, cfg: o.cfg, log, backend });
  // control-plane: evpn (speaker gobgp): the EVPN controller rides on the lifecycle's hook.
  const evpn = evpnPlaneFor(o.cfg, backend, log);
  if (evpn !== null) d.attach(evpn);
  return d;
}

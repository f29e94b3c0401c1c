/**
 * `control-plane: evpn` with `speaker: gobgp`: the EVPN controller
 * (src/evpn/controller.ts) as a ControlPlane of the lifecycle (attach()).
 * It drives the userspace data path directly (remote VTEPs through
 * Dataplane.remotes, remote MACs as static entries, MAC mobility), gets the
 * local MAC changes as MacEvents (the table's journal), answers `evpn.show`
 * and adds the `vtepd_evpn_*` metrics. Kernel mode (`speaker: frr`) has no
 * plane here: FRR's zebra programs the kernel FDB and vtepd keeps out of its way.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { VtepdConfig } from '../config/config-schema.js';
import { EvpnController } from '../evpn/controller.js';
import { evpnShow } from '../evpn/handlers.js';
import { registerEvpnMetrics } from '../evpn/metrics.js';
import type { ControlPlane, ControlPlaneApi } from './lifecycle.js';
import type { UserspaceBackend } from './userspace-backend.js';

export class EvpnPlane implements ControlPlane {
  readonly name = 'evpn';
  private controller: EvpnController | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly backend: UserspaceBackend, private readonly log: Logger) {}

  /** Runs after the backend started: the data path exists. Throws (the daemon does not start) when GoBGP's protos are missing. */
  async start(api: ControlPlaneApi): Promise<void> {
    const c = new EvpnController({ cfg: api.config(), dp: () => this.backend.dataplane(), log: this.log });
    this.controller = c;
    this.unsubscribe = api.onMacEvents((events, lost) => c.onMacEvents(events, lost));
    c.start();
  }

  reloaded(cfg: VtepdConfig): void {
    if (cfg['control-plane'] !== 'evpn') this.log.warn('control-plane changes take effect on restart');
    this.controller?.attach(this.backend.dataplane(), cfg);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.controller?.stop();
  }

  /** `evpn.show` */
  show(args: Record<string, unknown>): Promise<unknown> {
    if (this.controller === null) return Promise.reject(new Error('the EVPN control plane has not started yet'));
    return evpnShow(this.controller, args);
  }

  registerMetrics(reg: Registry): void {
    registerEvpnMetrics(reg, () => this.controller?.snapshot(false) ?? null);
  }
}

/** The control plane a config asks for, if any runs inside vtepd. */
export function evpnPlaneFor(cfg: VtepdConfig, backend: { mode: string }, log: Logger): EvpnPlane | null {
  if (cfg['control-plane'] !== 'evpn' || cfg.evpn.speaker !== 'gobgp' || backend.mode !== 'userspace') return null;
  return new EvpnPlane(backend as UserspaceBackend, log);
}

/** The control command `evpn.show` (vtepd evpn show): argument checks, fresh peer states, the snapshot. */
import { ControlError } from '../control/control-server.js';
import type { EvpnController } from './controller.js';
import type { EvpnSnapshot } from './snapshot.js';

export async function evpnShow(c: EvpnController, a: Record<string, unknown>): Promise<EvpnSnapshot> {
  if (a.routes !== undefined && typeof a.routes !== 'boolean') throw new ControlError('routes must be true or false');
  if (a.peers !== undefined && typeof a.peers !== 'boolean') throw new ControlError('peers must be true or false');
  // peers: false skips asking gobgpd for fresh peer states (cheap polling: monitoring, benchmarks).
  if (a.peers !== false) await c.refreshPeers();
  return c.snapshot(a.routes !== false);
}

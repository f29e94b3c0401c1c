/**
 * Argument checks of the control API commands (src/daemon/control-api.ts, one
 * set for every backend): a bad argument becomes a ControlError that the
 * client prints as it is.
 */
import { isIP } from 'node:net';
import { ControlError } from './control-server.js';

type Args = Record<string, unknown>;

export function optVni(a: Args): number | undefined {
  if (a.vni === undefined || a.vni === null) return undefined;
  if (!Number.isInteger(a.vni) || (a.vni as number) < 0 || (a.vni as number) > 0xffffff) throw new ControlError('vni: must be an integer 0..16777215');
  return a.vni as number;
}

export function reqVni(a: Args): number {
  const v = optVni(a);
  if (v === undefined) throw new ControlError('vni: is required');
  return v;
}

export function reqMac(a: Args): string {
  if (typeof a.mac !== 'string' || !/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(a.mac)) throw new ControlError('mac: must be a MAC address like 02:00:00:00:00:01');
  return a.mac;
}

export function optStr(a: Args, k: string): string | undefined {
  if (a[k] === undefined || a[k] === null) return undefined;
  if (typeof a[k] !== 'string' || a[k] === '') throw new ControlError(`${k}: must be a non-empty string`);
  return a[k] as string;
}

/** `remote`, when given, as an IPv4/IPv6 address. */
export function optRemote(a: Args): string | undefined {
  const r = optStr(a, 'remote');
  if (r !== undefined && isIP(r) === 0) throw new ControlError('remote: must be an IPv4 or IPv6 address');
  return r;
}

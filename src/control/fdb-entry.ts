/** One FDB entry as the control API returns it (`fdb.show`), and its one-line text form. */
export interface FdbEntryJson {
  vni: number; vlan: number | null; mac: string; port: string | null; remote: string | null; static: boolean; ageSeconds: number;
}

export function formatFdbEntry(e: FdbEntryJson): string {
  const where = e.port !== null ? `dev ${e.port}` : `dst ${e.remote}`;
  const kind = e.static ? 'static' : `age ${Math.round(e.ageSeconds)}s`;
  return `${e.mac} vni ${e.vni} ${where} ${kind}`;
}

/**
 * An entry as `vtepd fdb show --json` prints it, with iproute2's key names where
 * they mean the same (`bridge -j fdb show`): `ifname` the local port the MAC is
 * behind (a vtepd port name: for AF_PACKET and AF_XDP ports the interface name),
 * `dst` the remote VTEP, `state` "static" or "learned" (bridge: "permanent" /
 * "static" / ""); vtepd adds `vni`, `vlan` and `ageSeconds`.
 */
export interface FdbEntryCli {
  mac: string; vni: number; vlan: number | null; ifname?: string; dst?: string; state: 'static' | 'learned'; ageSeconds: number;
}

export function fdbEntryCli(e: FdbEntryJson): FdbEntryCli {
  const o: FdbEntryCli = { mac: e.mac, vni: e.vni, vlan: e.vlan, state: e.static ? 'static' : 'learned', ageSeconds: e.ageSeconds };
  if (e.port !== null) o.ifname = e.port;
  if (e.remote !== null) o.dst = e.remote;
  return o;
}

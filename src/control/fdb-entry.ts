/** One FDB entry as the control API returns it (`fdb.show`), and its one-line text form. */
export interface FdbEntryJson {
  vni: number; vlan: number | null; mac: string; port: string | null; remote: string | null; static: boolean; ageSeconds: number;
}

export function formatFdbEntry(e: FdbEntryJson): string {
  const where = e.port !== null ? `dev ${e.port}` : `dst ${e.remote}`;
  const kind = e.static ? 'static' : `age ${Math.round(e.ageSeconds)}s`;
  return `${e.mac} vni ${e.vni} ${where} ${kind}`;
}

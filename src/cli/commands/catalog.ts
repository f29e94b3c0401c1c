/**
 * The command catalog: each command's name, one-line summary and module. The
 * CLI loads only the module of the command it runs (start-up stays near Node's
 * own); `vtepd --help` lists the catalog without loading any command.
 */
import type { Command } from '../commander.js';

interface Entry { summary: string; load: () => Promise<{ register(program: Command): void }> }

export const CATALOG: Record<string, Entry> = {
  dissect: { summary: 'print the headers of every frame of a pcap/pcapng file (tunnels decoded, nested)', load: () => import('./dissect.js') },
  encap: { summary: 'encapsulate every frame of a capture into VXLAN, GENEVE or NVGRE (IPv4/IPv6 outer from the address family)', load: () => import('./encap.js') },
  decap: { summary: 'decapsulate VXLAN, GENEVE and NVGRE frames of a capture (outer IPv4/IPv6, any VLAN tags)', load: () => import('./decap.js') },
  offload: { summary: 'offload placements: what this host can hand to the native addon, the kernel, XDP or the NIC', load: () => import('./offload.js') },
  learn: { summary: 'replay a capture through decap + MAC learning and print the final table (capture time drives ageing)', load: () => import('./learn.js') },
  run: { summary: 'run the overlay data plane daemon (needs root or CAP_NET_RAW + CAP_NET_ADMIN)', load: () => import('./run.js') },
  fdb: { summary: "show or change the running daemon's MAC table (FDB)", load: () => import('./fdb.js') },
  stats: { summary: "the running daemon's counters: ports, networks, stage timings, drops", load: () => import('./stats.js') },
  ports: { summary: "the running daemon's ports: backend, state, rx/tx/drop counters", load: () => import('./ports.js') },
  demo: { summary: 'build a two-hypervisor overlay in network namespaces, run two vtepd daemons, ping VM to VM for each tunnel type, tear down (root)', load: () => import('./demo.js') },
  cost: { summary: 'measure the host CPU each offload plan costs on the same offered traffic (needs root: builds network namespaces)', load: () => import('./cost.js') },
  trace: { summary: 'record the next N frames in the running daemon and print every stage\'s decision about each', load: () => import('./trace.js') },
  evpn: { summary: "the running daemon's EVPN control plane (control-plane: evpn)", load: () => import('./evpn.js') },
};

export function summary(name: string): string {
  return CATALOG[name]!.summary;
}

/**
 * Register what `argv` needs: the named command (or the one `help NAME` asks
 * about) with all its options; otherwise every command as a name and summary,
 * enough for the top-level help and commander's "unknown command" message.
 */
export async function registerFor(program: Command, argv: readonly string[]): Promise<void> {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  const name = args[0] === 'help' ? args[1] : args[0];
  const hit = name !== undefined ? CATALOG[name] : undefined;
  if (hit !== undefined && Object.hasOwn(CATALOG, name!)) {
    (await hit.load()).register(program);
    return;
  }
  for (const [n, e] of Object.entries(CATALOG)) program.command(n).description(e.summary);
}

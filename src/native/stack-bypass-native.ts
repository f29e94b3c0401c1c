/**
 * The addon's StackBypass (native-bindings/src/stack_bypass.cc) as a
 * TypeScript shape, and where its program (vtepd_bypass.bpf.o) is.
 */
import { bpfObjectPath } from './af-xdp-native.js';
import { loadNativeExports } from './exports.js';
import { loadNative } from './addon.js';

/** Tunnel traffic to the underlay address: what vtepd's decap takes. */
export interface TunnelFilter { udpPorts: number[]; gre: boolean; address: string }

export interface StackBypassNative {
  readonly interface: string;
  readonly ifindex: number;
  readonly progId: number;
  setFilter(f: TunnelFilter): void;
  /** Totals since attach: tunnel frames kept from the host stack, and the rest. */
  counters(): { dropped: number; passed: number };
  close(): void;
}

export interface StackBypassAddon {
  StackBypass: new (o: { interface: string; object: string; filter: TunnelFilter }) => StackBypassNative;
}

export function loadStackBypass(): StackBypassAddon {
  return loadNativeExports<StackBypassAddon>('host-stack bypass', ['StackBypass'], loadNative);
}

/** vtepd_bypass.bpf.o ($VTEPD_BPF_DIR overrides, as for the other programs). */
export function bypassObjectPath(): string {
  return bpfObjectPath('vtepd_bypass.bpf.o');
}

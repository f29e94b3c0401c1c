/**
 * Drop reasons of the tunnel stages: ONE list, from which the numeric codes
 * written into `batch.drop[i]` and the counter names derive (VPP style).
 *
 * Code = index + 1 (0 means "alive"). Decap and encap share the list so a code
 * seen in a batch names one reason whichever tunnel stage set it.
 */
export const TUNNEL_DROPS = [
  // --- decap ---
  'not-tunnel', // not VXLAN/GENEVE/NVGRE for us (passed instead when keepOther)
  'truncated', // a header runs past the captured bytes
  'ip-bad-header', // IPv4 IHL < 5 or past the frame, IPv6 extension chain too long
  'ip-bad-length', // IPv4 total length / IPv6 payload length lies about the frame
  'ip4-bad-checksum', // outer IPv4 header checksum wrong
  'ip-fragment', // outer IPv4/IPv6 fragment: a VTEP does not reassemble
  'udp-bad-length', // UDP length < 8 or past the IP payload
  'udp-bad-checksum', // outer UDP checksum wrong (only when verification is enabled)
  'udp6-zero-checksum', // IPv6 outer with UDP checksum 0 and zero-checksum receive disabled
  'vxlan-bad-flags', // VXLAN I bit missing (RFC 7348 5)
  'geneve-bad-version', // GENEVE version != 0
  'geneve-bad-opt-length', // GENEVE option list runs past the header/packet
  'geneve-critical-option', // GENEVE critical option we do not understand (RFC 8926 3.5)
  'geneve-control', // GENEVE O bit: control message, not for the data plane
  'geneve-non-ethernet', // GENEVE protocol type is not 0x6558 (Ethernet)
  'nvgre-bad-flags', // NVGRE with C, R or S bit, without K bit, or version != 0 (RFC 7637 3.2)
  'unknown-vni', // VNI/VSID not in the configured list
  'zero-payload', // tunnel header with nothing behind it
  'inner-too-short', // inner frame shorter than an Ethernet header
  'nested-too-deep', // tunnel-in-tunnel beyond the configured recursive depth
  // --- encap ---
  'no-headroom', // not enough headroom in the slot for the outer headers
  'mtu-exceeded', // encapsulated packet larger than the underlay MTU (never fragmented)
  'bad-remote', // outPort names no configured remote VTEP
] as const;

export type TunnelDropReason = (typeof TUNNEL_DROPS)[number];

/** Code of each reason: `TunnelDrop['mtu-exceeded']` etc. */
export const TunnelDrop = Object.freeze(
  Object.fromEntries(TUNNEL_DROPS.map((r, i) => [r, i + 1])) as { [K in TunnelDropReason]: number },
);

/** Number of codes, for sizing per-reason counter arrays (index = code). */
export const TUNNEL_DROP_CODES = TUNNEL_DROPS.length + 1;

/** Counter name of a code, e.g. `drop-mtu-exceeded`. */
export function dropCounterName(code: number): string {
  const r = TUNNEL_DROPS[code - 1];
  return r === undefined ? `drop-code-${code}` : `drop-${r}`;
}

/** Reason name of a code (undefined when not a tunnel code). */
export function dropReason(code: number): TunnelDropReason | undefined {
  return TUNNEL_DROPS[code - 1];
}

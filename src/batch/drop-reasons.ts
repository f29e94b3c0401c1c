/**
 * The drop-reason registry: every reason any stage or port may count, in ONE
 * list (the VPP error-list idea, made global). A reason's code is its index + 1
 * and is what `batch.drop[i]` holds, in TypeScript and in C alike:
 * native-bindings/src/generated/contract.h is generated from this list, so a
 * code names exactly one reason everywhere. 0 means "alive".
 *
 * Each stage registers its reasons by having a section here; its own module
 * (tunnel/drop-reasons.ts, l2/counters.ts, ports/counters.ts) exports the
 * section's codes. Reasons shared by two stages (decap and encap both drop
 * 'inner-too-short') have one code; counters say which stage counted it.
 */

/** Decap and encap (src/tunnel/): malformed, foreign or unroutable tunnel frames. */
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
  'inner-too-short', // inner frame shorter than an Ethernet header (decap and encap)
  'nested-too-deep', // tunnel-in-tunnel beyond the configured recursive depth
  'tunnel-type-mismatch', // the VNI's network is of another tunnel type (a GENEVE frame for a VXLAN network)
  // --- encap ---
  'no-headroom', // not enough headroom in the slot for the outer headers
  'mtu-exceeded', // encapsulated packet larger than the underlay MTU (never fragmented)
  'bad-remote', // outPort names no configured remote VTEP
] as const;

/** The bridge (src/l2/): frames it cannot learn from or forward. */
export const BRIDGE_DROP_REASONS = [
  'runt', // shorter than an Ethernet header
  'invalid-src', // multicast/broadcast or all-zero source MAC (never learned, never forwarded)
  'no-domain', // VNI / port+VLAN belongs to no bridge domain
  'unknown-remote', // decapped from a VTEP that is not a member of the domain
  'same-port', // known destination lives where the frame came from
  'remote-to-remote', // split horizon: from a remote VTEP to a remote VTEP
  'no-flood-target', // flood with no other member to send to
] as const;

/** Ports (src/ports/): frames lost at receive or transmit, before or after the batch. */
export const PORT_DROP_REASONS = [
  'kernel', // the kernel dropped it before we read it (PACKET_STATISTICS tp_drops, pcap ps_drop)
  'oversize', // larger than the batch slot (dataRoom) or shorter than an Ethernet header
  'staging-full', // event-driven backends (cap, udp): staging ring full before receive() drained it
  'tx-error', // the kernel refused the frame, or the send call failed (errno kept in lastTxError)
  'no-route', // underlay: no destination could be derived from the frame
  'xsk-rx-ring-full', // AF_XDP: the socket's RX ring was full (XDP_STATISTICS rx_ring_full)
  'xsk-fill-empty', // AF_XDP: no UMEM frame in the fill ring for it (rx_fill_ring_empty_descs)
  'xsk-invalid-desc', // AF_XDP: the kernel refused an RX/TX descriptor (rx/tx_invalid_descs)
  'tx-ring-full', // TX ring / send buffer / tun queue still full after the port's wait; AF_XDP: no TX ring room or free UMEM frame
  'socket', // the socket itself dropped it (SO_MEMINFO drops beyond the RX ring's own count)
] as const;

/** Every reason; code = index + 1. */
export const DROP_REASONS = [...TUNNEL_DROPS, ...BRIDGE_DROP_REASONS, ...PORT_DROP_REASONS] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Size of a per-code counter array (index = code, slot 0 unused). */
export const DROP_CODES = DROP_REASONS.length + 1;

/** Code of every reason: `DropCode['mtu-exceeded']`. */
export const DropCode = Object.freeze(Object.fromEntries(DROP_REASONS.map((r, i) => [r, i + 1])) as { [K in DropReason]: number });

if (new Set<string>(DROP_REASONS).size !== DROP_REASONS.length) throw new Error('drop-reasons.ts: a reason is listed twice');
if (DROP_CODES > 256) throw new Error('drop-reasons.ts: batch.drop is a Uint8Array: at most 255 reasons');

/** Codes of one section, by name (what each stage's module exports). */
export function codesOf<const R extends readonly DropReason[]>(reasons: R): { readonly [K in R[number]]: number } {
  return Object.freeze(Object.fromEntries(reasons.map((r) => [r, DropCode[r]]))) as { readonly [K in R[number]]: number };
}

/** Reason name of a code, undefined for 0 or an unknown code. */
export function dropReasonName(code: number): DropReason | undefined {
  return DROP_REASONS[code - 1];
}

/** Counter name of a code (`drop-mtu-exceeded`; `drop-code-N` when unknown). */
export function dropCounterName(code: number): string {
  const r = DROP_REASONS[code - 1];
  return r === undefined ? `drop-code-${code}` : `drop-${r}`;
}

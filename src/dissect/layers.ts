/**
 * Layer kinds and stop reasons of the frame walker: ONE list each, from which
 * the numeric codes (stored in typed arrays) and the printed names derive.
 */
export const LAYER_NAMES = [
  'none', 'eth', 'vlan', 'arp', 'ipv4', 'ipv6', 'udp', 'tcp', 'icmp', 'icmpv6',
  'mpls', 'pw-cw', 'gre', 'nvgre', 'vxlan', 'geneve',
] as const;
export type LayerName = (typeof LAYER_NAMES)[number];

export const L_NONE = 0;
export const L_ETH = 1;
export const L_VLAN = 2;
export const L_ARP = 3;
export const L_IPV4 = 4;
export const L_IPV6 = 5;
export const L_UDP = 6;
export const L_TCP = 7;
export const L_ICMP = 8;
export const L_ICMPV6 = 9;
/** An MPLS label stack entry (one layer per entry), and the pseudowire control word. */
export const L_MPLS = 10;
export const L_PWCW = 11;
// Tunnel kinds must stay the highest codes (walk.ts tests `next >= L_GRE`).
export const L_GRE = 12;
export const L_NVGRE = 13;
export const L_VXLAN = 14;
export const L_GENEVE = 15;

/** Why the walk stopped. */
export const STOP_REASONS = [
  'end', // a terminal layer (arp, tcp, icmp) or no bytes left: nothing more to decode
  'unknown', // the next protocol is one the walker does not decode (payload starts at stopOffset)
  'fragment', // a non-first IP fragment: nothing behind the IP header can be parsed
  'error', // a header failed to decode (`error` holds the codec's DecodeError)
  'layer-limit', // more layers than the state holds
  'tunnel-limit', // tunnels nested deeper than `maxTunnels`
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export const S_END = 0;
export const S_UNKNOWN = 1;
export const S_FRAGMENT = 2;
export const S_ERROR = 3;
export const S_LAYER_LIMIT = 4;
export const S_TUNNEL_LIMIT = 5;

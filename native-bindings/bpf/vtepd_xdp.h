/* Shared by vtepd_xdp.bpf.c and its loader (native-bindings/src/xdp_plan.cc):
 * the map layouts of the xdp offload plan. Keep both sides compiled from this. */
#ifndef VTEPD_XDP_H
#define VTEPD_XDP_H

#define VTEPD_XDP_MAX_FDB 65536
#define VTEPD_XDP_MAX_REMOTES 256
#define VTEPD_XDP_MAX_PORTS 64
#define VTEPD_XDP_MAX_VNIS 4096
/* Outer Ethernet + IPv4 + UDP + VXLAN. */
#define VTEPD_XDP_VXLAN_HDR 50
/* Outer Ethernet + IPv4. */
#define VTEPD_XDP_ETH_IP4 34
/* A remote's template: outer Ethernet + IP (+ UDP); the tunnel header is the domain's. */
#define VTEPD_XDP_MAX_REMOTE_HDR 64
/* The domain's tunnel header: VXLAN 8, NVGRE 8, GENEVE 8 + options (RFC 8926: up to 252). */
#define VTEPD_XDP_MAX_TUN_HDR 260

/* Tunnel type of a bridge domain (= TunnelKind of src/batch/packet-batch.ts). */
#define VTEPD_XDP_T_VXLAN 1
#define VTEPD_XDP_T_GENEVE 2
#define VTEPD_XDP_T_NVGRE 3

/* Where a MAC lives. */
#define VTEPD_XDP_AT_PORT 1
#define VTEPD_XDP_AT_REMOTE 2

/* Counter slots (per CPU). Drop reasons of hostile frames first, then the verdicts. */
enum vtepd_xdp_counter {
  VTEPD_XDP_C_TRUNCATED = 0,
  VTEPD_XDP_C_IP_BAD_HEADER,
  VTEPD_XDP_C_IP_BAD_LENGTH,
  VTEPD_XDP_C_UDP_BAD_LENGTH,
  VTEPD_XDP_C_VXLAN_BAD_FLAGS,
  VTEPD_XDP_C_DECAP_REDIRECT,   /* decapsulated and redirected to a VM port */
  VTEPD_XDP_C_ENCAP_REDIRECT,   /* encapsulated and redirected to the underlay */
  VTEPD_XDP_C_BRIDGE_REDIRECT,  /* VM port to VM port */
  VTEPD_XDP_C_PASS_NOT_OURS,    /* not a tunnel frame for this VTEP: the kernel's */
  VTEPD_XDP_C_PASS_LEARN,       /* unknown or moved source MAC: userspace learns */
  VTEPD_XDP_C_PASS_FLOOD,       /* broadcast, multicast or unknown destination */
  VTEPD_XDP_C_PASS_UNKNOWN_VNI,
  VTEPD_XDP_C_PASS_MTU,         /* over the underlay MTU: userspace drops with its reason */
  VTEPD_XDP_C_PASS_OTHER,
  /* Appended (the slots above keep their numbers): drop reasons named as the TypeScript decap stage's. */
  VTEPD_XDP_C_IP4_BAD_CHECKSUM,
  VTEPD_XDP_C_ZERO_PAYLOAD,
  VTEPD_XDP_C_INNER_TOO_SHORT,
  VTEPD_XDP_C_NVGRE_BAD_FLAGS,
  VTEPD_XDP_C_GENEVE_BAD_VERSION,
  VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH,
  VTEPD_XDP_C_GENEVE_CONTROL,
  VTEPD_XDP_C_GENEVE_NON_ETHERNET,
  /* Appended with the IPv6 outer (branch xdp-5). */
  VTEPD_XDP_C_TUNNEL_TYPE_MISMATCH, /* a VNI arriving in another tunnel type than its domain's */
  VTEPD_XDP_C_PASS_GENEVE_CRITICAL, /* C bit or a critical option: userspace knows which it understands */
  VTEPD_XDP_C_PASS_NO_HEADROOM,   /* the outer header does not fit the driver's headroom */
  VTEPD_XDP_C_UDP6_ZERO_CHECKSUM, /* IPv6 outer, UDP checksum 0, zero-checksum receive off (RFC 6935/6936) */
  VTEPD_XDP_C_PASS_IP6_EXT,       /* IPv6 outer with extension headers: userspace walks them */
  VTEPD_XDP_C_COUNT,
};

struct vtepd_xdp_fdb_key {
  __u32 domain;
  __u8 mac[6];
  __u16 pad;
};

struct vtepd_xdp_fdb_val {
  __u32 at;     /* VTEPD_XDP_AT_PORT or VTEPD_XDP_AT_REMOTE */
  __u32 target; /* devmap slot of the port, or the remote's index */
  __u64 last_seen_ns; /* bpf_ktime_get_ns() of the last frame from this MAC */
};

/* A VM port: its bridge domain and its devmap slot. */
struct vtepd_xdp_port {
  __u32 domain;
  __u32 slot;
};

/* A remote VTEP: its outer Ethernet + IPv4 (34 bytes) or Ethernet + IPv6 (54) header;
 * the IP protocol, lengths, checksum and flow label are filled per frame, the UDP
 * header (for VXLAN, GENEVE) is the program's, the tunnel header the domain's. */
struct vtepd_xdp_remote {
  __u8 hdr[VTEPD_XDP_MAX_REMOTE_HDR];
  __u8 hdr_len;      /* 34 or 54 */
  __u8 v6;
  __u16 pad;
  __u32 ip_sum_base; /* IPv4 header sum without total length, protocol and checksum, folded */
  __u32 ip;          /* network order: the remote's IPv4 address (decap checks the outer source against it) */
  __u8 ip6[16];      /* the remote's IPv6 address */
  __u32 udp_sum_base; /* the pseudo-header's addresses, folded (UDP checksum) */
};

/* A bridge domain: its VNI/VSID, tunnel type, transmit UDP port and tunnel header
 * exactly as vtepd's encap stage writes it (an NVGRE FlowID hashed per frame). */
struct vtepd_xdp_domain {
  __u32 vni;
  __u8 type;      /* VTEPD_XDP_T_*; 0 = no entry */
  __u8 flow_hash; /* NVGRE: FlowID from the inner-flow hash (else the header's fixed one) */
  __u16 tun_len;  /* bytes of tun[] */
  __u16 udp_port; /* host order; 0: the config's port for the type */
  __u8 udp_csum;  /* compute the outer UDP checksum over IPv4 (udpCsum) */
  __u8 udp_csum6; /* ... over IPv6 (unless zeroCsum6Tx) */
  __u32 tun_sum;  /* one's-complement sum of tun[] (UDP checksum), folded */
  __u8 tun[VTEPD_XDP_MAX_TUN_HDR];
};

struct vtepd_xdp_config {
  __u32 local_ip;      /* network order */
  __u32 underlay_slot; /* devmap slot of the underlay */
  __u16 udp_port;      /* host order, 4789 */
  __u16 mtu;           /* underlay MTU (outer IP packet) */
  __u16 sport_min;
  __u16 sport_max;
  __u16 geneve_port;   /* host order, 6081 */
  __u8 zero_csum6_rx;  /* accept IPv6 outer UDP checksum 0 (RFC 6935) */
  __u8 pad;
  __u8 local_ip6[16];  /* the IPv6 underlay address (all zero: none) */
};

#endif

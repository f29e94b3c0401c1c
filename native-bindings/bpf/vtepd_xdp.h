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
/* The longest tunnel header a domain may have: GENEVE with 64 bytes of options. */
#define VTEPD_XDP_MAX_TUN_HDR 72

/* A domain's tunnel type (network type). */
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

/* A remote VTEP: the outer header up to and including UDP (the VXLAN header is
 * the domain's), and the IPv4 header checksum without the total length. */
struct vtepd_xdp_remote {
  __u8 hdr[42];
  __u16 ip_sum_base; /* one's-complement sum of the IPv4 header with total length 0, not folded to 16 bits */
  __u32 ip;          /* network order: the remote's address (decap checks the outer source against it) */
};

struct vtepd_xdp_config {
  __u32 local_ip;      /* network order */
  __u32 underlay_slot; /* devmap slot of the underlay */
  __u16 udp_port;      /* host order: VXLAN's, 4789 */
  __u16 mtu;           /* underlay MTU (outer IP packet) */
  __u16 sport_min;
  __u16 sport_max;
  __u16 geneve_port;   /* host order: GENEVE's, 6081 */
  __u16 pad;
};

/* A bridge domain's tunnel: type, the UDP destination port (0 for NVGRE), and the
 * tunnel header exactly as vtepd's encap stage writes it (VNI included; an NVGRE
 * FlowID byte is filled per frame from the inner-flow hash). */
struct vtepd_xdp_domain {
  __u32 vni;
  __u16 type;     /* VTEPD_XDP_T_* (0: not set up) */
  __u16 udp_port; /* host order */
  __u32 hdr_len;  /* 8..VTEPD_XDP_MAX_TUN_HDR, a multiple of 4 */
  __u8 hdr[VTEPD_XDP_MAX_TUN_HDR];
};

#endif

/* What vtepd_xsk.bpf.c and the addon (xsk_program.cc) share: the filter
 * configuration in the one-entry `vtepd_xsk_cfg` array map and the counter
 * slots of the per-CPU `vtepd_xsk_cnt` map. The includer provides __u16/__u32/__u64
 * (vmlinux.h in the program, linux/types.h in the addon). */
#ifndef VTEPD_XSK_H
#define VTEPD_XSK_H

/* Program name as the kernel shows it (bpftool prog, ip link): how a leftover
 * of vtepd's is told apart from someone else's program. */
#define VTEPD_XSK_PROG_NAME "vtepd_xsk"

/* Which frames the socket takes; everything else goes on to the kernel (XDP_PASS). */
enum vtepd_xsk_mode {
	VTEPD_XSK_ALL = 0,    /* every frame (a VM-facing port owned by vtepd) */
	VTEPD_XSK_VLANS = 1,  /* frames of the listed VLANs (and untagged ones if asked) */
	VTEPD_XSK_TUNNEL = 2, /* underlay: UDP to a tunnel port / IP protocol 47, to our address */
};

#define VTEPD_XSK_MAX_UDP_PORTS 8

struct vtepd_xsk_cfg {
	__u32 mode;
	__u32 untagged;       /* VLANS: take untagged frames too */
	__u32 gre;            /* TUNNEL: take IP protocol 47 (NVGRE) */
	__u32 nports;         /* TUNNEL: udp_ports[0..nports) are used */
	__u16 udp_ports[VTEPD_XSK_MAX_UDP_PORTS]; /* network byte order */
	__u32 has_addr4;      /* TUNNEL: match the destination address below */
	__u32 addr4;          /* network byte order */
	__u32 has_addr6;
	__u32 addr6[4];       /* network byte order */
	__u64 vlans[64];      /* VLANS: bit v set = take VLAN ID v */
};

enum vtepd_xsk_counter {
	VTEPD_XSK_TAKEN = 0,     /* redirected into a socket */
	VTEPD_XSK_PASSED = 1,    /* not for vtepd (filter): left to the kernel */
	VTEPD_XSK_NO_SOCKET = 2, /* for vtepd, but no socket on that RX queue: left to the kernel */
	VTEPD_XSK_COUNTERS = 3,
};

#endif

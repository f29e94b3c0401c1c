/* The underlay filter shared by vtepd's XDP program for AF_XDP ports
 * (vtepd_xsk.bpf.c: which frames the socket takes) and its tc program on an
 * AF_PACKET underlay (vtepd_bypass.bpf.c: which frames the host stack is
 * spared): tunnel traffic to the underlay address, configured by a
 * struct vtepd_xsk_cfg in TUNNEL mode. The includer provides vmlinux.h and
 * the bpf helpers. */
#ifndef VTEPD_TUNNEL_MATCH_BPF_H
#define VTEPD_TUNNEL_MATCH_BPF_H

#include "vtepd_xsk.h"

#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define PROTO_UDP 17
#define PROTO_GRE 47

/* Underlay filter: IPv4/IPv6 to our address, UDP to a tunnel port or GRE when enabled. */
static __always_inline int tunnel_frame(struct vtepd_xsk_cfg *cfg, void *p, void *end, __u16 proto)
{
	__u8 l4proto;
	if (proto == bpf_htons(ETH_P_IP_)) {
		struct iphdr *ip = p;
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return 0;
		if (cfg->has_addr6 || (cfg->has_addr4 && ip->daddr != cfg->addr4))
			return 0; /* an IPv6 underlay takes no IPv4 */
		/* A later fragment has no L4 header: the kernel reassembles it. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0;
		l4proto = ip->protocol;
		p = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr *ip6 = p;
		if ((void *)(ip6 + 1) > end)
			return 0;
		if (cfg->has_addr4)
			return 0;
		if (cfg->has_addr6 && (ip6->daddr.in6_u.u6_addr32[0] != cfg->addr6[0] || ip6->daddr.in6_u.u6_addr32[1] != cfg->addr6[1] ||
				       ip6->daddr.in6_u.u6_addr32[2] != cfg->addr6[2] || ip6->daddr.in6_u.u6_addr32[3] != cfg->addr6[3]))
			return 0;
		l4proto = ip6->nexthdr; /* extension headers: left to the kernel */
		p = ip6 + 1;
	} else {
		return 0;
	}
	if (l4proto == PROTO_GRE)
		return cfg->gre != 0;
	if (l4proto != PROTO_UDP)
		return 0;
	struct udphdr *udp = p;
	if ((void *)(udp + 1) > end)
		return 0;
	__u32 n = cfg->nports;
#pragma unroll
	for (int i = 0; i < VTEPD_XSK_MAX_UDP_PORTS; i++) {
		if (i < n && udp->dest == cfg->udp_ports[i])
			return 1;
	}
	return 0;
}

#endif

// SPDX-License-Identifier: GPL-2.0
/* tcx ingress program on an AF_PACKET underlay. vtepd's packet socket taps
 * every frame before tc ingress runs, so by then the tunnel frames addressed
 * to vtepd are already in its ring; without this program the host stack
 * would still route each one, look up the tunnel port's socket and drop it
 * there (the guard socket that keeps the kernel from answering with ICMP
 * unreachable). Here they end at tc ingress instead. Everything else, and
 * what the filter cannot match (VLAN-tagged, later fragments, IPv6 extension
 * headers, headers outside the linear data), goes on to the next program or
 * the stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vtepd_xsk.h"
#include "vtepd_bypass.h"
#include "vtepd_tunnel_match.bpf.h"

#define TCX_NEXT_ -1
#define TCX_DROP_ 2
#define PACKET_HOST_ 0

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vtepd_xsk_cfg);
} vtepd_byp_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VTEPD_BYPASS_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} vtepd_byp_cnt SEC(".maps");

static __always_inline int verdict(__u32 slot, int v)
{
	__u64 *c = bpf_map_lookup_elem(&vtepd_byp_cnt, &slot);
	if (c)
		*c += 1;
	return v;
}

SEC("tc")
int vtepd_bypass(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 zero = 0;
	struct vtepd_xsk_cfg *cfg = bpf_map_lookup_elem(&vtepd_byp_cfg, &zero);
	/* Only frames to this host: vtepd's decap takes nothing else either. */
	if (!cfg || cfg->mode != VTEPD_XSK_TUNNEL || skb->vlan_present || skb->pkt_type != PACKET_HOST_)
		return verdict(VTEPD_BYPASS_PASSED, TCX_NEXT_);
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return verdict(VTEPD_BYPASS_PASSED, TCX_NEXT_);
	if (!tunnel_frame(cfg, eth + 1, end, eth->h_proto))
		return verdict(VTEPD_BYPASS_PASSED, TCX_NEXT_);
	return verdict(VTEPD_BYPASS_DROPPED, TCX_DROP_);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* The XDP program of vtepd's AF_XDP ports: frames the config gives to vtepd
 * go to the AF_XDP socket bound to the frame's RX queue (XSKMAP keyed by
 * queue); the rest, and frames of a queue without a socket, continue into the
 * kernel (XDP_PASS). One copy is loaded per interface, so each has its own maps. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vtepd_xsk.h"
#include "vtepd_tunnel_match.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64); /* set to the interface's RX queue count before loading */
	__type(key, __u32);
	__type(value, __u32);
} vtepd_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vtepd_xsk_cfg);
} vtepd_xsk_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VTEPD_XSK_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} vtepd_xsk_cnt SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&vtepd_xsk_cnt, &slot);
	if (c)
		*c += 1;
}

static __always_inline int pass(void)
{
	count(VTEPD_XSK_PASSED);
	return XDP_PASS;
}

SEC("xdp")
int vtepd_xsk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0;
	struct vtepd_xsk_cfg *cfg = bpf_map_lookup_elem(&vtepd_xsk_cfg, &zero);
	if (!cfg)
		return XDP_PASS;
	if (cfg->mode != VTEPD_XSK_ALL) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > end)
			return pass();
		void *p = eth + 1;
		__u16 proto = eth->h_proto;
		int tagged = 0;
		__u16 vid = 0;
		if (proto == bpf_htons(ETH_P_8021Q_) || proto == bpf_htons(ETH_P_8021AD_)) {
			struct vlan_hdr *vh = p;
			if ((void *)(vh + 1) > end)
				return pass();
			tagged = 1;
			vid = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
			proto = vh->h_vlan_encapsulated_proto;
			p = vh + 1;
		}
		if (cfg->mode == VTEPD_XSK_VLANS) {
			if (!tagged ? !cfg->untagged : !(cfg->vlans[(vid >> 6) & 63] & (1ULL << (vid & 63))))
				return pass();
		} else if (!tunnel_frame(cfg, p, end, proto)) {
			return pass();
		}
	}
	__u32 q = ctx->rx_queue_index;
	if (!bpf_map_lookup_elem(&vtepd_xsks, &q)) {
		count(VTEPD_XSK_NO_SOCKET);
		return XDP_PASS;
	}
	count(VTEPD_XSK_TAKEN);
	return bpf_redirect_map(&vtepd_xsks, q, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
// The xdp offload plan's fast path (issue #12), VXLAN, GENEVE and NVGRE over IPv4:
//   vtepd_xdp_underlay: outer Eth/IPv4/(UDP/VXLAN | UDP/GENEVE | GRE/NVGRE) -> VNI ->
//     domain (of that tunnel type) -> inner destination MAC on a local port ->
//     strip the outer header -> redirect;
//   vtepd_xdp_port: a VM port's frame -> destination MAC behind a remote ->
//     prepend the remote's template + the domain's tunnel header -> redirect to
//     the underlay (or, MAC on another local port, redirect there).
// The per-frame fields are those of the TypeScript encap stage (src/tunnel/encap.ts),
// with its inner-flow hash (src/tunnel/flow-hash.ts) ported word for word, so the
// output is the same bytes: UDP source port, NVGRE FlowID.
// Anything the fast path does not own goes up with XDP_PASS to vtepd's
// userspace path: unknown or moved source MACs (learning), broadcast, multicast
// and unknown destinations (flooding), unknown VNIs, frames over the MTU. Hostile
// frames (truncated, lying lengths) are dropped and counted. The maps are filled
// by vtepd (native-bindings/src/xdp_plan.cc); layouts in vtepd_xdp.h.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vtepd_xdp.h"
#include "vtepd_xdp_maps.bpf.h"
#include "vtepd_xdp_hash.bpf.h"

/* GENEVE header at h, room bytes of UDP payload after its 8 fixed bytes: 0 when
 * vtepd's fast path may take it, else the counter slot, with *verdict the action.
 * The checks and their order are the TypeScript decap's (same drop reason for the
 * same frame); a critical option goes up to userspace, which knows the ones it understands. */
static __always_inline __u32 geneve_check(__u8* h, __u32 room, void* end, int* verdict) {
  *verdict = XDP_DROP;
  if (h[0] >> 6) return VTEPD_XDP_C_GENEVE_BAD_VERSION;
  __u32 opt_len = (h[0] & 63) << 2;
  if (opt_len > room) return VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH;
  if (h[1] & 0x80) return VTEPD_XDP_C_GENEVE_CONTROL;
  if (((__u32)h[2] << 8 | h[3]) != ETH_P_TEB) return VTEPD_XDP_C_GENEVE_NON_ETHERNET;
  __u32 off = 0;
  for (int i = 0; i < 63; i++) {
    if (off >= opt_len) break;
    __u8* q = h + 8 + (off & 0xff);
    if (off + 4 > opt_len || (void*)(q + 4) > end) return VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH;
    __u32 olen = 4 + ((q[3] & 31) << 2);
    if (off + olen > opt_len) return VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH;
    if (q[2] & 0x80) {
      *verdict = XDP_PASS;
      return VTEPD_XDP_C_PASS_GENEVE_CRITICAL;
    }
    off += olen;
  }
  if (h[1] & 0x40) { /* C bit without a critical option found: userspace decides */
    *verdict = XDP_PASS;
    return VTEPD_XDP_C_PASS_GENEVE_CRITICAL;
  }
  return 0;
}

/* The tunnel kind of an L4 header by UDP destination port or GRE protocol type, 0 when not ours. */
static __always_inline __u32 classify(__u8* l4, void* end, __u32 proto, struct vtepd_xdp_config* cfg) {
  if ((void*)(l4 + 4) > end) return 0;
  __u32 v = (__u32)l4[2] << 8 | l4[3];
  if (proto == IPPROTO_GRE) return v == ETH_P_TEB ? VTEPD_XDP_T_NVGRE : 0;
  if (v == cfg->udp_port) return VTEPD_XDP_T_VXLAN;
  if (cfg->geneve_port && v == cfg->geneve_port) return VTEPD_XDP_T_GENEVE;
  return 0;
}

SEC("xdp")
int vtepd_xdp_underlay(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct vtepd_xdp_config* cfg = bpf_map_lookup_elem(&xdp_config, &zero);
  if (!cfg) return XDP_PASS;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  __u32 len = (__u32)(end - data);
  __u32 proto, kind, l4off, ip_end; /* offsets from data */
  __u32 saddr4 = 0;
  __u32 saddr6[4] = {};
  int v6 = 0;
  if (eth->h_proto == ETH_P_IP_BE) {
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    if ((ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_GRE) || ip->daddr != cfg->local_ip) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    if (ip->version != 4) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    if (ip->ihl < 5) return count(VTEPD_XDP_C_IP_BAD_HEADER, XDP_DROP);
    if (ip->ihl != 5) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* IPv4 options: userspace */
    if (ip->frag_off & bpf_htons(0x3fff)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* fragments: userspace */
    __u32 tot = bpf_ntohs(ip->tot_len);
    proto = ip->protocol;
    l4off = 14 + 20;
    ip_end = 14 + tot;
    /* Classify first (UDP port, GRE protocol), validate second, as the TypeScript decap. */
    kind = classify((void*)(ip + 1), end, proto, cfg);
    if (!kind) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    if (ip_end > len || tot < 20 + (proto == IPPROTO_GRE ? 4 : 8)) return count(VTEPD_XDP_C_IP_BAD_LENGTH, XDP_DROP);
    if (!ip4_sum_ok(ip)) return count(VTEPD_XDP_C_IP4_BAD_CHECKSUM, XDP_DROP);
    saddr4 = ip->saddr;
  } else if (eth->h_proto == ETH_P_IPV6_BE) {
    struct ipv6hdr* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    __u32* da = (void*)&ip6->daddr;
    __u32* la = (void*)cfg->local_ip6;
    if (da[0] != la[0] || da[1] != la[1] || da[2] != la[2] || da[3] != la[3] || !(la[0] | la[1] | la[2] | la[3])) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    proto = ip6->nexthdr;
    if (proto == 0 || proto == 43 || proto == 60 || proto == 44) return count(VTEPD_XDP_C_PASS_IP6_EXT, XDP_PASS);
    if (proto != IPPROTO_UDP && proto != IPPROTO_GRE) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    if (ip6->version != 6) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    kind = classify((void*)(ip6 + 1), end, proto, cfg);
    if (!kind) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    __u32 pl = bpf_ntohs(ip6->payload_len);
    l4off = 14 + 40;
    ip_end = 14 + 40 + pl;
    if (ip_end > len || pl < (proto == IPPROTO_GRE ? 4 : 8)) return count(VTEPD_XDP_C_IP_BAD_LENGTH, XDP_DROP);
    __builtin_memcpy(saddr6, &ip6->saddr, 16);
    v6 = 1;
  } else {
    return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  }
  __u32 vni, inner_off, tun_end;
  if (proto == IPPROTO_GRE) {
    __u8* g = data + (l4off & 0x3f);
    if ((void*)(g + 8) > end || ip_end < l4off + 8) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    /* C=0 R=0 K=1 S=0 s=0, version 0 (RFC 7637 3.2). */
    if ((((__u32)g[0] << 8 | g[1]) & 0xf807) != 0x2000) return count(VTEPD_XDP_C_NVGRE_BAD_FLAGS, XDP_DROP);
    vni = ((__u32)g[4] << 16) | ((__u32)g[5] << 8) | g[6];
    inner_off = l4off + 8;
    tun_end = ip_end;
  } else {
    struct udphdr* udp = data + (l4off & 0x3f);
    if ((void*)(udp + 1) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    __u32 ulen = bpf_ntohs(udp->len);
    if (ulen < 8 || l4off + ulen > ip_end) return count(VTEPD_XDP_C_UDP_BAD_LENGTH, XDP_DROP);
    if (v6 && udp->check == 0 && !cfg->zero_csum6_rx) return count(VTEPD_XDP_C_UDP6_ZERO_CHECKSUM, XDP_DROP);
    __u8* h = (void*)(udp + 1);
    tun_end = l4off + ulen;
    if (ulen < 16 || (void*)(h + 8) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    if (kind == VTEPD_XDP_T_VXLAN) {
      if (!(h[0] & 0x08)) return count(VTEPD_XDP_C_VXLAN_BAD_FLAGS, XDP_DROP);
      inner_off = l4off + 8 + 8;
    } else {
      int verdict;
      __u32 why = geneve_check(h, ulen - 16, end, &verdict);
      if (why) return count(why, verdict);
      inner_off = l4off + 8 + 8 + ((h[0] & 63) << 2);
    }
    vni = ((__u32)h[4] << 16) | ((__u32)h[5] << 8) | h[6];
  }
  /* Then the inner frame's length, then the VNI, as the TypeScript decap. */
  if (tun_end == inner_off) return count(VTEPD_XDP_C_ZERO_PAYLOAD, XDP_DROP);
  if (tun_end < inner_off + 14) return count(VTEPD_XDP_C_INNER_TOO_SHORT, XDP_DROP);
  __u32* domain = bpf_map_lookup_elem(&vni_domain, &vni);
  if (!domain) return count(VTEPD_XDP_C_PASS_UNKNOWN_VNI, XDP_PASS);
  __u32 dom = *domain;
  if (domain_type(dom) != kind) return count(VTEPD_XDP_C_TUNNEL_TYPE_MISMATCH, XDP_DROP);
  inner_off &= 0x1ff;
  struct ethhdr* inner = data + inner_off;
  if ((void*)(inner + 1) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  /* The frame must end where IP/UDP says: trailing bytes would be sent on as the inner frame's. */
  if (len != tun_end) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  if (!source_behind(dom, inner->h_source, v6, saddr4, saddr6)) return count(VTEPD_XDP_C_PASS_LEARN, XDP_PASS);
  if (is_multicast(inner->h_dest)) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  struct vtepd_xdp_fdb_val* dst = lookup(dom, inner->h_dest);
  if (!dst || dst->at != VTEPD_XDP_AT_PORT) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  __u32 slot = dst->target;
  if (bpf_xdp_adjust_head(ctx, (int)inner_off)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  count(VTEPD_XDP_C_DECAP_REDIRECT, 0);
  return bpf_redirect_map(&tx_ports, slot, XDP_PASS);
}

SEC("xdp")
int vtepd_xdp_port(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct vtepd_xdp_config* cfg = bpf_map_lookup_elem(&xdp_config, &zero);
  if (!cfg) return XDP_PASS;
  __u32 ifindex = ctx->ingress_ifindex;
  struct vtepd_xdp_port* port = bpf_map_lookup_elem(&ports, &ifindex);
  if (!port) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  __u32 domain = port->domain;
  if (!source_known(domain, eth->h_source, VTEPD_XDP_AT_PORT, port->slot)) return count(VTEPD_XDP_C_PASS_LEARN, XDP_PASS);
  if (is_multicast(eth->h_dest)) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  struct vtepd_xdp_fdb_val* dst = lookup(domain, eth->h_dest);
  if (!dst) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  if (dst->at == VTEPD_XDP_AT_PORT) {
    if (dst->target == port->slot) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* hairpin: userspace decides */
    count(VTEPD_XDP_C_BRIDGE_REDIRECT, 0);
    return bpf_redirect_map(&tx_ports, dst->target, XDP_PASS);
  }
  __u32 ri = dst->target;
  struct vtepd_xdp_remote* r = bpf_map_lookup_elem(&remotes, &ri);
  struct vtepd_xdp_domain* dom = bpf_map_lookup_elem(&domains, &domain);
  if (!r || !dom || !dom->type) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 nvgre = dom->type == VTEPD_XDP_T_NVGRE;
  __u32 v6 = r->v6;
  __u32 hl = r->hdr_len, tl = dom->tun_len, uh = nvgre ? 0 : 8;
  if (hl != (v6 ? 54 : 34) || tl < 8 || tl > VTEPD_XDP_MAX_TUN_HDR) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 total = hl + uh + tl;
  __u32 inner_len = (__u32)(end - data);
  if (inner_len + total - 14 > cfg->mtu) return count(VTEPD_XDP_C_PASS_MTU, XDP_PASS);
  __u32 h = flow_hash(data, end);
  /* The UDP checksum's share of the inner frame, summed before the outer header moves it. */
  __u32 csum = !nvgre && (v6 ? dom->udp_csum6 : dom->udp_csum);
  if (csum && inner_len > 64 * 256) return count(VTEPD_XDP_C_PASS_MTU, XDP_PASS); /* beyond frame_sum's reach */
  __u32 inner_sum = csum ? frame_sum(ctx, inner_len) : 0;
  __u32 dport = dom->udp_port ? dom->udp_port : dom->type == VTEPD_XDP_T_GENEVE ? cfg->geneve_port : cfg->udp_port;
  if (bpf_xdp_adjust_head(ctx, -(int)total)) return count(VTEPD_XDP_C_PASS_NO_HEADROOM, XDP_PASS);
  if (bpf_xdp_store_bytes(ctx, 0, r->hdr, hl)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  if (bpf_xdp_store_bytes(ctx, hl + uh, dom->tun, tl)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  __u8* o = data;
  /* Frames are at least 14 + 42 (IPv4 NVGRE) or 14 + 62 (IPv6) bytes: the checks the verifier needs. */
  if ((void*)(o + 42) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  __u32 ip_len = inner_len + total - 14;
  __u8 proto = nvgre ? IPPROTO_GRE : IPPROTO_UDP;
  struct udphdr* udp;
  if (v6) {
    if ((void*)(o + 62) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    /* Version, no traffic class, flow label from the inner-flow hash (RFC 6438), payload length. */
    o[15] = (__u8)((h >> 16) & 15);
    o[16] = (__u8)(h >> 8);
    o[17] = (__u8)h;
    o[18] = (__u8)((ip_len - 40) >> 8);
    o[19] = (__u8)(ip_len - 40);
    o[20] = proto;
    udp = (void*)(o + 54);
    if (nvgre && dom->flow_hash) o[54 + 7] = (__u8)h;
  } else {
    struct iphdr* ip = (void*)(o + 14);
    __u16 tot = (__u16)ip_len;
    ip->tot_len = bpf_htons(tot);
    ip->protocol = proto;
    __u32 sum = r->ip_sum_base + tot + proto; /* the protocol is the low byte of its word */
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip->check = bpf_htons((__u16)~sum);
    udp = (void*)(ip + 1);
    if (nvgre && dom->flow_hash) o[34 + 7] = (__u8)h; /* FlowID: the low byte of the inner-flow hash */
  }
  if (!nvgre) {
    __u32 span = (__u32)cfg->sport_max - cfg->sport_min + 1;
    __u32 sport = (cfg->sport_min + (((h >> 16) * span) >> 16)) & 0xffff;
    __u32 ulen = ip_len - (v6 ? 40 : 20);
    udp->source = bpf_htons((__u16)sport);
    udp->dest = bpf_htons((__u16)dport);
    udp->len = bpf_htons((__u16)ulen);
    udp->check = 0;
    if (csum) {
      /* Partial sums (pseudo-header addresses, tunnel header) + protocol + destination port + the
       * length twice (pseudo-header and UDP header) + source port + the inner frame (RFC 768). */
      __u32 s = r->udp_sum_base + dom->tun_sum + IPPROTO_UDP + dport + ulen + ulen + sport + inner_sum;
      s = (s & 0xffff) + (s >> 16);
      s = (s & 0xffff) + (s >> 16);
      __u16 c = (__u16)~s;
      udp->check = bpf_htons(c ? c : 0xffff); /* 0 means "no checksum" */
    }
  }
  count(VTEPD_XDP_C_ENCAP_REDIRECT, 0);
  return bpf_redirect_map(&tx_ports, cfg->underlay_slot, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

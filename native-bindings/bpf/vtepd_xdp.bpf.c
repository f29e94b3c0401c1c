// SPDX-License-Identifier: GPL-2.0
// The xdp offload plan's fast path (issue #12), VXLAN over IPv4:
//   vtepd_xdp_underlay: outer Eth/IPv4/UDP/VXLAN -> VNI -> domain -> inner
//     destination MAC on a local port -> strip the outer header -> redirect;
//   vtepd_xdp_port: a VM port's frame -> destination MAC behind a remote ->
//     prepend the remote's template + VXLAN -> redirect to the underlay (or,
//     MAC on another local port, redirect there).
// Anything the fast path does not own goes up with XDP_PASS to vtepd's
// userspace path: unknown or moved source MACs (learning), broadcast, multicast
// and unknown destinations (flooding), unknown VNIs, frames over the MTU. Hostile
// frames (truncated, lying lengths) are dropped and counted. The maps are filled
// by vtepd (native-bindings/src/xdp_plan.cc); layouts in vtepd_xdp.h.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vtepd_xdp.h"

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_8021Q_BE bpf_htons(0x8100)

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VTEPD_XDP_MAX_FDB);
  __type(key, struct vtepd_xdp_fdb_key);
  __type(value, struct vtepd_xdp_fdb_val);
} fdb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VTEPD_XDP_MAX_VNIS);
  __type(key, __u32); /* VNI */
  __type(value, __u32); /* domain */
} vni_domain SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VTEPD_XDP_MAX_VNIS);
  __type(key, __u32); /* domain */
  __type(value, __u32); /* VNI */
} domain_vni SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VTEPD_XDP_MAX_PORTS);
  __type(key, __u32); /* ingress ifindex */
  __type(value, struct vtepd_xdp_port);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VTEPD_XDP_MAX_REMOTES);
  __type(key, __u32);
  __type(value, struct vtepd_xdp_remote);
} remotes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, VTEPD_XDP_MAX_REMOTES);
  __type(key, __u32); /* remote IPv4, network order */
  __type(value, __u32); /* remote index */
} remote_by_ip SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, VTEPD_XDP_MAX_PORTS);
  __type(key, __u32);
  __type(value, __u32);
} tx_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vtepd_xdp_config);
} xdp_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, VTEPD_XDP_C_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 slot, int verdict) {
  __u64* c = bpf_map_lookup_elem(&counters, &slot);
  if (c) *c += 1;
  return verdict;
}

static __always_inline int is_multicast(const __u8* mac) {
  return mac[0] & 1;
}

/* The source MAC must already live where this frame came from; then its last-seen time is refreshed. */
static __always_inline int source_known(__u32 domain, const __u8* mac, __u32 at, __u32 target) {
  struct vtepd_xdp_fdb_key k = {.domain = domain};
  __builtin_memcpy(k.mac, mac, 6);
  struct vtepd_xdp_fdb_val* v = bpf_map_lookup_elem(&fdb, &k);
  if (!v || v->at != at || v->target != target) return 0;
  /* The tick-granular clock costs no clock read; writing only when it moved keeps the entry's cache line clean. */
  __u64 now = bpf_ktime_get_coarse_ns();
  if (v->last_seen_ns != now) v->last_seen_ns = now;
  return 1;
}

/* The IPv4 header (20 bytes, no options) sums to 0xffff. */
static __always_inline int ip4_checksum_ok(struct iphdr* ip) {
  __u16* w = (__u16*)ip;
  __u32 sum = 0;
#pragma unroll
  for (int i = 0; i < 10; i++) sum += w[i];
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

static __always_inline struct vtepd_xdp_fdb_val* lookup(__u32 domain, const __u8* mac) {
  struct vtepd_xdp_fdb_key k = {.domain = domain};
  __builtin_memcpy(k.mac, mac, 6);
  return bpf_map_lookup_elem(&fdb, &k);
}

SEC("xdp")
int vtepd_xdp_underlay(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct vtepd_xdp_config* cfg = bpf_map_lookup_elem(&xdp_config, &zero);
  if (!cfg) return XDP_PASS;
  /* The checks and their order are the TypeScript decap stage's (src/tunnel/decap.ts parseLevel), so a
   * frame this program drops is dropped there under the same reason (test/offload/xdp-differential.test.ts).
   * What it does not take (tags, IPv4 options, fragments, another host's or port's traffic) goes up whole. */
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (eth->h_proto != ETH_P_IP_BE) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->version != 4) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (ip->protocol != IPPROTO_UDP || ip->daddr != cfg->local_ip) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (ip->ihl < 5) return count(VTEPD_XDP_C_IP_BAD_HEADER, XDP_DROP);
  if (ip->ihl != 5) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* IPv4 options: userspace */
  if (ip->frag_off & bpf_htons(0x3fff)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* fragments: userspace drops them */
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)udp + 4 > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (udp->dest != bpf_htons(cfg->udp_port)) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  __u16 tot = bpf_ntohs(ip->tot_len);
  if (tot < 20 + 8 || (void*)ip + tot > end) return count(VTEPD_XDP_C_IP_BAD_LENGTH, XDP_DROP);
  if (!ip4_checksum_ok(ip)) return count(VTEPD_XDP_C_IP4_BAD_CHECKSUM, XDP_DROP);
  if ((void*)(udp + 1) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP); /* for the verifier: tot says it is there */
  __u16 ulen = bpf_ntohs(udp->len);
  if (ulen < 8 || ulen > tot - 20) return count(VTEPD_XDP_C_UDP_BAD_LENGTH, XDP_DROP);
  if (ulen < 8 + 8) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  __u8* vx = (void*)(udp + 1);
  if ((void*)(vx + 8) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  if (!(vx[0] & 0x08)) return count(VTEPD_XDP_C_VXLAN_BAD_FLAGS, XDP_DROP);
  if (ulen == 8 + 8) return count(VTEPD_XDP_C_ZERO_PAYLOAD, XDP_DROP);
  if (ulen < 8 + 8 + 14) return count(VTEPD_XDP_C_INNER_TOO_SHORT, XDP_DROP);
  __u32 vni = ((__u32)vx[4] << 16) | ((__u32)vx[5] << 8) | vx[6];
  __u32* domain = bpf_map_lookup_elem(&vni_domain, &vni);
  if (!domain) return count(VTEPD_XDP_C_PASS_UNKNOWN_VNI, XDP_PASS);
  struct ethhdr* inner = (void*)(vx + 8);
  if ((void*)(inner + 1) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  /* The frame must end where UDP says: trailing bytes would be sent on as the inner frame's. */
  if ((void*)udp + ulen != end) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 saddr = ip->saddr;
  __u32* remote = bpf_map_lookup_elem(&remote_by_ip, &saddr);
  if (!remote || !source_known(*domain, inner->h_source, VTEPD_XDP_AT_REMOTE, *remote)) return count(VTEPD_XDP_C_PASS_LEARN, XDP_PASS);
  if (is_multicast(inner->h_dest)) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  struct vtepd_xdp_fdb_val* dst = lookup(*domain, inner->h_dest);
  if (!dst || dst->at != VTEPD_XDP_AT_PORT) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  __u32 slot = dst->target;
  if (bpf_xdp_adjust_head(ctx, VTEPD_XDP_VXLAN_HDR)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  count(VTEPD_XDP_C_DECAP_REDIRECT, 0);
  return bpf_redirect_map(&tx_ports, slot, XDP_PASS);
}

/* The inner-flow hash of src/tunnel/flow-hash.ts, bit for bit (FNV-1a on big-endian 32-bit words, then
 * murmur3's fmix32), so the UDP source port equals the userspace encap's (RFC 7348 section 5). Frames it
 * cannot hash the same way here (VLAN tags, IPv4 options) are left to userspace: returns -1. */
static __always_inline __u32 mix(__u32 h, __u32 k) {
  return (h ^ k) * 0x01000193;
}

static __always_inline __s64 inner_hash(struct ethhdr* eth, void* end) {
  __u32 h = 0x9747b28c;
  __u8* b = (__u8*)eth;
  h = mix(h, ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3]);
  h = mix(h, ((__u32)b[4] << 24) | ((__u32)b[5] << 16) | ((__u32)b[6] << 8) | b[7]);
  h = mix(h, ((__u32)b[8] << 24) | ((__u32)b[9] << 16) | ((__u32)b[10] << 8) | b[11]);
  __u16 et = bpf_ntohs(eth->h_proto);
  if (et == 0x8100 || et == 0x88a8 || et == 0x9100) return -1;
  h = mix(h, et);
  if (et == 0x0800) {
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) <= end && ip->version == 4) {
      if (ip->ihl > 5) return -1;
      h = mix(h, bpf_ntohl(ip->saddr));
      h = mix(h, bpf_ntohl(ip->daddr));
      h = mix(h, ip->protocol);
      __u32* ports = (void*)(ip + 1);
      __u8 pr = ip->protocol;
      if (!(ip->frag_off & bpf_htons(0x3fff)) && ip->ihl == 5 && (pr == 6 || pr == 17 || pr == 132) && (void*)(ports + 1) <= end)
        h = mix(h, bpf_ntohl(*ports));
    }
  } else if (et == 0x86dd) {
    struct ipv6hdr* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) <= end && ip6->version == 6) {
      __u32* a = (__u32*)&ip6->saddr;
#pragma unroll
      for (int k = 0; k < 8; k++) h = mix(h, bpf_ntohl(a[k]));
      __u8 nh = ip6->nexthdr;
      h = mix(h, nh);
      __u32* ports = (void*)(ip6 + 1);
      if ((nh == 6 || nh == 17 || nh == 132) && (void*)(ports + 1) <= end) h = mix(h, bpf_ntohl(*ports));
    }
  }
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
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
  if ((void*)(eth + 1) > end) return count(VTEPD_XDP_C_INNER_TOO_SHORT, XDP_DROP);
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
  __u32* vni = bpf_map_lookup_elem(&domain_vni, &domain);
  if (!r || !vni) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 inner_len = (__u32)(end - data);
  if (inner_len + VTEPD_XDP_VXLAN_HDR - 14 > cfg->mtu) return count(VTEPD_XDP_C_PASS_MTU, XDP_PASS);
  __s64 hash = inner_hash(eth, end);
  if (hash < 0) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 span = (__u32)cfg->sport_max - cfg->sport_min + 1;
  __u16 sport = (__u16)(cfg->sport_min + (((((__u32)hash) >> 16) * span) >> 16));
  if (bpf_xdp_adjust_head(ctx, -VTEPD_XDP_VXLAN_HDR)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  __u8* o = data;
  if ((void*)(o + VTEPD_XDP_VXLAN_HDR) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  __builtin_memcpy(o, r->hdr, 42);
  struct iphdr* ip = (void*)(o + 14);
  __u16 tot = (__u16)(inner_len + 36);
  ip->tot_len = bpf_htons(tot);
  __u32 sum = (__u32)r->ip_sum_base + tot;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  ip->check = bpf_htons((__u16)~sum);
  struct udphdr* udp = (void*)(ip + 1);
  udp->source = bpf_htons(sport);
  udp->len = bpf_htons((__u16)(inner_len + 16));
  udp->check = 0;
  __u8* vx = (void*)(udp + 1);
  vx[0] = 0x08;
  vx[1] = 0;
  vx[2] = 0;
  vx[3] = 0;
  vx[4] = (__u8)(*vni >> 16);
  vx[5] = (__u8)(*vni >> 8);
  vx[6] = (__u8)*vni;
  vx[7] = 0;
  count(VTEPD_XDP_C_ENCAP_REDIRECT, 0);
  return bpf_redirect_map(&tx_ports, cfg->underlay_slot, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

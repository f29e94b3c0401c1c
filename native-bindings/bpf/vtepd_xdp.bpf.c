// SPDX-License-Identifier: GPL-2.0
// The xdp offload plan's fast path (issue #12), VXLAN, GENEVE and NVGRE over IPv4:
//   vtepd_xdp_underlay: outer Eth/IPv4 + UDP/VXLAN, UDP/GENEVE or GRE/NVGRE -> VNI
//     -> domain -> inner destination MAC on a local port -> strip the outer
//     header -> redirect;
//   vtepd_xdp_port: a VM port's frame -> destination MAC behind a remote ->
//     prepend the remote's Ethernet + IPv4 template, UDP, and the domain's tunnel
//     header -> redirect to the underlay (or, MAC on another local port, redirect there).
// Anything the fast path does not own goes up with XDP_PASS to vtepd's
// userspace path: unknown or moved source MACs (learning), broadcast, multicast
// and unknown destinations (flooding), unknown VNIs, frames over the MTU, GENEVE
// critical options. Hostile frames (truncated, lying lengths) are dropped and
// counted under the TypeScript decap stage's reasons. The maps are filled by
// vtepd (native-bindings/src/xdp_plan.cc); layouts in vtepd_xdp.h.
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vtepd_xdp.h"

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_TEB_BE bpf_htons(0x6558)

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
  __type(value, struct vtepd_xdp_domain);
} domains SEC(".maps");

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

/* Packet bytes [off, off+n) are in the frame (for the verifier; `off` bounded by the caller). */
#define IN_FRAME(data, end, off, n) ((void*)(data) + (off) + (n) <= (end))

SEC("xdp")
int vtepd_xdp_underlay(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  __u32 zero = 0;
  struct vtepd_xdp_config* cfg = bpf_map_lookup_elem(&xdp_config, &zero);
  if (!cfg) return XDP_PASS;
  /* The checks and their order are the TypeScript decap stage's (src/tunnel/decap.ts parseLevel), so a
   * frame this program drops is dropped there under the same reason (test/offload/xdp-differential.test.ts).
   * What it does not take (tags, IPv4 options, fragments, another host's traffic) goes up whole.
   * Offsets are integers from the frame start (14 Ethernet + 20 IPv4: L4 at 34). */
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (eth->h_proto != ETH_P_IP_BE) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > end || ip->version != 4) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  __u8 proto = ip->protocol;
  if ((proto != IPPROTO_UDP && proto != IPPROTO_GRE) || ip->daddr != cfg->local_ip) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  if (ip->ihl < 5) return count(VTEPD_XDP_C_IP_BAD_HEADER, XDP_DROP);
  if (ip->ihl != 5) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* IPv4 options: userspace */
  if (ip->frag_off & bpf_htons(0x3fff)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* fragments: userspace drops them */
  __u8* l4 = (void*)(ip + 1);
  if ((void*)(l4 + 4) > end) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  __u32 kind;
  if (proto == IPPROTO_UDP) {
    __u16 dport = bpf_ntohs(((struct udphdr*)l4)->dest);
    if (dport == cfg->udp_port) kind = VTEPD_XDP_T_VXLAN;
    else if (dport == cfg->geneve_port) kind = VTEPD_XDP_T_GENEVE;
    else return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
  } else {
    if (((__u16*)l4)[1] != ETH_P_TEB_BE) return count(VTEPD_XDP_C_PASS_NOT_OURS, XDP_PASS);
    kind = VTEPD_XDP_T_NVGRE;
  }
  __u32 tot = bpf_ntohs(ip->tot_len);
  if (tot < 20 + (kind == VTEPD_XDP_T_NVGRE ? 4 : 8) || (void*)ip + tot > end) return count(VTEPD_XDP_C_IP_BAD_LENGTH, XDP_DROP);
  if (!ip4_checksum_ok(ip)) return count(VTEPD_XDP_C_IP4_BAD_CHECKSUM, XDP_DROP);
  __u32 ip_end = 14 + tot; /* <= the frame's length: checked above */
  __u32 inner, t_end, vni;
  if (kind == VTEPD_XDP_T_NVGRE) {
    if (34 + 8 > ip_end || !IN_FRAME(data, end, 34, 8)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    /* C=0 R=0 K=1 S=0 s=0, version 0 (RFC 7637 3.2). */
    if ((((__u32)l4[0] << 8 | l4[1]) & 0xf807) != 0x2000) return count(VTEPD_XDP_C_NVGRE_BAD_FLAGS, XDP_DROP);
    vni = ((__u32)l4[4] << 16) | ((__u32)l4[5] << 8) | l4[6];
    inner = 34 + 8;
    t_end = ip_end;
  } else {
    if (34 + 8 > ip_end || !IN_FRAME(data, end, 34, 8)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    __u32 ulen = bpf_ntohs(((struct udphdr*)l4)->len);
    if (ulen < 8 || 34 + ulen > ip_end) return count(VTEPD_XDP_C_UDP_BAD_LENGTH, XDP_DROP);
    t_end = 34 + ulen;
    __u8* h = l4 + 8;
    if (42 + 8 > t_end || !IN_FRAME(data, end, 42, 8)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    if (kind == VTEPD_XDP_T_VXLAN) {
      if (!(h[0] & 0x08)) return count(VTEPD_XDP_C_VXLAN_BAD_FLAGS, XDP_DROP);
      inner = 50;
    } else {
      if (h[0] >> 6) return count(VTEPD_XDP_C_GENEVE_BAD_VERSION, XDP_DROP);
      __u32 opt_end = 50 + ((__u32)(h[0] & 63) << 2);
      if (opt_end > t_end) return count(VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH, XDP_DROP);
      if (h[1] & 0x80) return count(VTEPD_XDP_C_GENEVE_CONTROL, XDP_DROP);
      if (((__u16*)h)[1] != ETH_P_TEB_BE) return count(VTEPD_XDP_C_GENEVE_NON_ETHERNET, XDP_DROP);
      /* Every option's length must tile the option area; a critical one goes to userspace, which knows which it understands. */
      __u32 q = 50;
      for (int i = 0; i < 16; i++) { /* a bounded loop: the verifier walks it */
        if (q >= opt_end) break;
        if (q + 4 > opt_end) return count(VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH, XDP_DROP);
        q &= 0x1ff;
        if (!IN_FRAME(data, end, q, 4)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
        __u8* o = data + q;
        __u32 olen = 4 + ((__u32)(o[3] & 31) << 2);
        if (q + olen > opt_end) return count(VTEPD_XDP_C_GENEVE_BAD_OPT_LENGTH, XDP_DROP);
        if (o[2] & 0x80) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
        q += olen;
      }
      if (q < opt_end) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* more than 16 options: userspace */
      vni = 0;
      inner = opt_end;
    }
    if (kind == VTEPD_XDP_T_VXLAN || kind == VTEPD_XDP_T_GENEVE) vni = ((__u32)h[4] << 16) | ((__u32)h[5] << 8) | h[6];
  }
  if (t_end == inner) return count(VTEPD_XDP_C_ZERO_PAYLOAD, XDP_DROP);
  if (t_end < inner + 14) return count(VTEPD_XDP_C_INNER_TOO_SHORT, XDP_DROP);
  __u32* domain = bpf_map_lookup_elem(&vni_domain, &vni);
  if (!domain) return count(VTEPD_XDP_C_PASS_UNKNOWN_VNI, XDP_PASS);
  __u32 dom = *domain;
  struct vtepd_xdp_domain* dm = bpf_map_lookup_elem(&domains, &dom);
  if (!dm || dm->type != kind) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS); /* another type's VNI: userspace drops it */
  /* The frame must end where the tunnel says: trailing bytes would be sent on as the inner frame's. */
  if ((void*)data + t_end != end) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  inner &= 0x1ff;
  if (!IN_FRAME(data, end, inner, 14)) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  struct ethhdr* in = data + inner;
  __u32 saddr = ip->saddr;
  __u32* remote = bpf_map_lookup_elem(&remote_by_ip, &saddr);
  if (!remote || !source_known(dom, in->h_source, VTEPD_XDP_AT_REMOTE, *remote)) return count(VTEPD_XDP_C_PASS_LEARN, XDP_PASS);
  if (is_multicast(in->h_dest)) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  struct vtepd_xdp_fdb_val* dst = lookup(dom, in->h_dest);
  if (!dst || dst->at != VTEPD_XDP_AT_PORT) return count(VTEPD_XDP_C_PASS_FLOOD, XDP_PASS);
  __u32 slot = dst->target;
  if (bpf_xdp_adjust_head(ctx, (int)inner)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
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
  struct vtepd_xdp_domain* dm = bpf_map_lookup_elem(&domains, &domain);
  if (!r || !dm || !dm->type) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  int udp = dm->type != VTEPD_XDP_T_NVGRE;
  __u32 tun_len = dm->hdr_len;
  if (tun_len < 8 || tun_len > VTEPD_XDP_MAX_TUN_HDR || (tun_len & 3)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 hdr = VTEPD_XDP_ETH_IP4 + (udp ? 8 : 0) + tun_len; /* <= 114 */
  __u32 inner_len = (__u32)(end - data);
  if (inner_len + hdr - 14 > cfg->mtu) return count(VTEPD_XDP_C_PASS_MTU, XDP_PASS);
  __s64 hash = inner_hash(eth, end);
  if (hash < 0) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  __u32 h32 = (__u32)hash;
  __u16 udp_port = dm->udp_port ? dm->udp_port : cfg->udp_port;
  if (bpf_xdp_adjust_head(ctx, -(int)hdr)) return count(VTEPD_XDP_C_PASS_OTHER, XDP_PASS);
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  __u8* o = data;
  if ((void*)(o + VTEPD_XDP_ETH_IP4 + 8) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
  __builtin_memcpy(o, r->hdr, VTEPD_XDP_ETH_IP4);
  struct iphdr* ip = (void*)(o + 14);
  __u16 tot = (__u16)(inner_len + hdr - 14);
  ip->tot_len = bpf_htons(tot);
  /* The template is built with protocol 17; NVGRE's 47 adds 30 to the header's sum. */
  ip->protocol = udp ? IPPROTO_UDP : IPPROTO_GRE;
  __u32 sum = (__u32)r->ip_sum_base + tot + (udp ? 0 : IPPROTO_GRE - IPPROTO_UDP);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  ip->check = bpf_htons((__u16)~sum);
  __u32 t = VTEPD_XDP_ETH_IP4;
  if (udp) {
    struct udphdr* u = (void*)(ip + 1);
    __u32 span = (__u32)cfg->sport_max - cfg->sport_min + 1;
    u->source = bpf_htons((__u16)(cfg->sport_min + (((h32 >> 16) * span) >> 16)));
    u->dest = bpf_htons(udp_port);
    u->len = bpf_htons((__u16)(tot - 20));
    u->check = 0;
    t += 8;
  }
  /* The domain's tunnel header, word by word (at most 18 words). */
  __u32* src = (__u32*)dm->hdr;
  for (int i = 0; i < VTEPD_XDP_MAX_TUN_HDR / 4; i++) {
    if ((__u32)i * 4 >= tun_len) break;
    __u32 at = (t + (__u32)i * 4) & 0x7f;
    if ((void*)(o + at + 4) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    *(__u32*)(o + at) = src[i];
  }
  if (!udp) {
    if ((void*)(o + VTEPD_XDP_ETH_IP4 + 8) > end) return count(VTEPD_XDP_C_TRUNCATED, XDP_DROP);
    o[VTEPD_XDP_ETH_IP4 + 7] = (__u8)h32; /* NVGRE FlowID: the inner-flow hash's low byte */
  }
  count(VTEPD_XDP_C_ENCAP_REDIRECT, 0);
  return bpf_redirect_map(&tx_ports, cfg->underlay_slot, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";

/* The xdp plan's maps and their lookups, for vtepd_xdp.bpf.c only (needs vmlinux.h
 * and the libbpf helpers included first). Layouts in vtepd_xdp.h, shared with the loader. */
#ifndef VTEPD_XDP_MAPS_BPF_H
#define VTEPD_XDP_MAPS_BPF_H

#define ETH_P_IP_BE bpf_htons(0x0800)
#define ETH_P_IPV6_BE bpf_htons(0x86dd)
#define ETH_P_8021Q_BE bpf_htons(0x8100)
#define ETH_P_TEB 0x6558

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

/* The 20-byte IPv4 header's one's-complement sum is all ones when its checksum is right. */
static __always_inline int ip4_sum_ok(struct iphdr* ip) {
  __u16* w = (void*)ip;
  __u32 sum = 0;
#pragma unroll
  for (int i = 0; i < 10; i++) sum += w[i];
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

static __always_inline int is_multicast(const __u8* mac) {
  return mac[0] & 1;
}

/* Last seen now. The tick-granular clock costs no clock read; writing only when it moved keeps the entry's cache line clean. */
static __always_inline void touch(struct vtepd_xdp_fdb_val* v) {
  __u64 now = bpf_ktime_get_coarse_ns();
  if (v->last_seen_ns != now) v->last_seen_ns = now;
}

/* The source MAC must already live where this frame came from; then its last-seen time is refreshed. */
static __always_inline int source_known(__u32 domain, const __u8* mac, __u32 at, __u32 target) {
  struct vtepd_xdp_fdb_key k = {.domain = domain};
  __builtin_memcpy(k.mac, mac, 6);
  struct vtepd_xdp_fdb_val* v = bpf_map_lookup_elem(&fdb, &k);
  if (!v || v->at != at || v->target != target) return 0;
  touch(v);
  return 1;
}

/* Decap: the source MAC must live behind the remote whose address sent the frame
 * (a remote has one index per tunnel type, so the address, not the index, decides). */
static __always_inline int source_behind(__u32 domain, const __u8* mac, int v6, __u32 saddr, const __u32* saddr6) {
  struct vtepd_xdp_fdb_key k = {.domain = domain};
  __builtin_memcpy(k.mac, mac, 6);
  struct vtepd_xdp_fdb_val* v = bpf_map_lookup_elem(&fdb, &k);
  if (!v || v->at != VTEPD_XDP_AT_REMOTE) return 0;
  __u32 ri = v->target;
  struct vtepd_xdp_remote* r = bpf_map_lookup_elem(&remotes, &ri);
  if (!r || r->v6 != v6) return 0;
  if (v6) {
    const __u32* a = (const void*)r->ip6;
    if (a[0] != saddr6[0] || a[1] != saddr6[1] || a[2] != saddr6[2] || a[3] != saddr6[3]) return 0;
  } else if (r->ip != saddr) {
    return 0;
  }
  touch(v);
  return 1;
}

static __always_inline struct vtepd_xdp_fdb_val* lookup(__u32 domain, const __u8* mac) {
  struct vtepd_xdp_fdb_key k = {.domain = domain};
  __builtin_memcpy(k.mac, mac, 6);
  return bpf_map_lookup_elem(&fdb, &k);
}

/* The tunnel a domain carries: VXLAN when the loader wrote no entry (today's API). */
static __always_inline __u32 domain_type(__u32 domain) {
  struct vtepd_xdp_domain* d = bpf_map_lookup_elem(&domains, &domain);
  return d && d->type ? d->type : VTEPD_XDP_T_VXLAN;
}

#endif

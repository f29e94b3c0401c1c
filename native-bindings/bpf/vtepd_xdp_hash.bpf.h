/* Sums over frames for vtepd_xdp.bpf.c only: the inner-flow hash (outer entropy)
 * and the one's-complement sum of an inner frame (the outer UDP checksum). */
#ifndef VTEPD_XDP_HASH_BPF_H
#define VTEPD_XDP_HASH_BPF_H

static __always_inline __u32 mix(__u32 h, __u32 k) {
  return (h ^ k) * 0x01000193;
}

static __always_inline __u32 be32(const __u8* p) {
  return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

static __always_inline int l4_hashed(__u32 proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* Inner-flow hash for outer entropy (RFC 7348 section 5): src/tunnel/flow-hash.ts
 * ported exactly (MACs, up to 4 VLAN tags, ethertype, IPv4/IPv6 addresses and
 * protocol, TCP/UDP/SCTP ports of unfragmented packets; FNV-1a words + fmix32),
 * so UDP source ports and NVGRE FlowIDs are the TypeScript stage's. len >= 14. */
static __always_inline __u32 flow_hash(__u8* d, void* end) {
  __u32 h = 0x9747b28c;
  if ((void*)(d + 14) > end) return 0;
  h = mix(h, be32(d));
  h = mix(h, be32(d + 4));
  h = mix(h, be32(d + 8));
  __u32 p = 12;
  __u32 et = (__u32)d[12] << 8 | d[13];
#pragma unroll
  for (int tags = 0; tags < 4; tags++) {
    if (et != 0x8100 && et != 0x88a8 && et != 0x9100) break;
    __u8* q = d + 12 + tags * 4;
    if ((void*)(q + 6) > end) break;
    h = mix(h, (__u32)q[2] << 8 | q[3]);
    p += 4;
    et = (__u32)q[4] << 8 | q[5];
  }
  h = mix(h, et);
  p = (p + 2) & 0x3f;
  __u8* l3 = d + p;
  if (et == 0x0800 && (void*)(l3 + 20) <= end && (l3[0] >> 4) == 4) {
    __u32 ihl = (l3[0] & 15) << 2;
    __u32 proto = l3[9];
    h = mix(h, be32(l3 + 12));
    h = mix(h, be32(l3 + 16));
    h = mix(h, proto);
    __u32 frag = ((__u32)l3[6] << 8 | l3[7]) & 0x3fff;
    __u8* l4 = l3 + ihl;
    if (frag == 0 && ihl >= 20 && l4_hashed(proto) && (void*)(l4 + 4) <= end) h = mix(h, be32(l4));
  } else if (et == 0x86dd && (void*)(l3 + 40) <= end && (l3[0] >> 4) == 6) {
#pragma unroll
    for (int k = 8; k < 40; k += 4) h = mix(h, be32(l3 + k));
    __u32 nh = l3[6];
    h = mix(h, nh);
    __u8* l4 = l3 + 40;
    if (l4_hashed(nh) && (void*)(l4 + 4) <= end) h = mix(h, be32(l4));
  }
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >> 16);
}

/* One's-complement sum of the frame's first len bytes as 16-bit big-endian words,
 * folded: 256-byte chunks through a stack buffer (bpf_csum_diff takes at most 512). */
static __always_inline __u32 frame_sum(struct xdp_md* ctx, __u32 len) {
  __u8 buf[256];
  __u32 sum = 0;
  for (int i = 0; i < 64; i++) {
    __u64 off = (__u64)i * 256;
    if (off >= len) break;
    /* 64-bit sizes: the bounds checked are those of the register the helpers get. */
    __u64 n = (__u64)len - off;
    if (n >= 256) {
      n = 256;
    } else {
      __builtin_memset(buf, 0, sizeof buf); /* the odd tail sums with zero padding */
    }
    asm volatile("" : "+r"(n));
    if (n == 0 || n > 256) break;
    if (bpf_xdp_load_bytes(ctx, (__u32)off, buf, n)) break;
    __u64 words = (n + 3) & 0x1fc;
    asm volatile("" : "+r"(words));
    if (words > 256) break;
    sum = (__u32)bpf_csum_diff(0, 0, (void*)buf, words, sum);
  }
  /* bpf_csum_diff sums in host order: fold, then turn into a big-endian-valued sum. */
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return bpf_ntohs((__u16)sum);
}

#endif

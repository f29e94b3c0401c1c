// The one checksum module of the C side (its TypeScript twin is
// src/packet/checksum.ts): RFC 1071 one's-complement sums for decap (header
// and UDP verification), encap (inline UDP checksum) and checksumBatch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace vtepd {

// Fold a sum to 16 bits (end-around carry).
inline uint32_t Fold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint32_t)s;
}

// One's-complement sum of p[0, n) read as native-order 16-bit words, plus acc
// (native order), folded to 16 bits. The sum is byte-order independent
// (RFC 1071 2.B): storing its complement with memcpy puts the right bytes on
// the wire, and SumBe16 swaps it once for callers that work in big-endian
// values. n is at most 64 KiB (a UDP length), so no accumulator can overflow:
// SSE2 lanes take 2 * 0xffff per 32 bytes, the 64-bit ones less. A positive
// sum folds to 1..0xffff (0 only when everything is 0).
inline uint32_t SumNative(const uint8_t* p, size_t n, uint64_t acc) {
  uint64_t a = acc, b = 0;
#ifdef __SSE2__
  // 32 bytes a step, 16-bit words widened into 32-bit lanes: ~1.4x the scalar loop at 1400 B.
  if (n >= 32) {
    __m128i s0 = _mm_setzero_si128(), s1 = _mm_setzero_si128();
    const __m128i lo = _mm_set1_epi32(0xffff);
    while (n >= 32) {
      __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
      s0 = _mm_add_epi32(s0, _mm_add_epi32(_mm_and_si128(x, lo), _mm_srli_epi32(x, 16)));
      s1 = _mm_add_epi32(s1, _mm_add_epi32(_mm_and_si128(y, lo), _mm_srli_epi32(y, 16)));
      p += 32;
      n -= 32;
    }
    uint32_t l[4];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(l), _mm_add_epi32(s0, s1));
    a += (uint64_t)l[0] + l[1] + l[2] + l[3];
  }
#endif
  while (n >= 16) {
    uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, p + 8, 8);
    a += (x & 0xffffffffu) + (x >> 32);
    b += (y & 0xffffffffu) + (y >> 32);
    p += 16;
    n -= 16;
  }
  a += b;
  while (n >= 4) {
    uint32_t x;
    std::memcpy(&x, p, 4);
    a += x;
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    uint16_t x;
    std::memcpy(&x, p, 2);
    a += x;
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    uint8_t tail[2] = {p[0], 0};  // odd byte padded with zero (RFC 768)
    uint16_t x;
    std::memcpy(&x, tail, 2);
    a += x;
  }
  return Fold(a);
}

// A big-endian 16-bit value in the native order SumNative works in (and back).
inline uint32_t Native16(uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return v & 0xffff;
#else
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
#endif
}

// The same sum as big-endian 16-bit words, folded (what the TypeScript sums compute).
inline uint32_t SumBe16(const uint8_t* p, size_t n) { return Native16(SumNative(p, n, 0)); }

// decap.ts sumFold: acc (big-endian terms) + the sum of d[off, off+len), folded.
inline uint32_t SumFold(const uint8_t* d, size_t off, size_t len, uint64_t acc) { return Fold(acc + SumBe16(d + off, len)); }

}  // namespace vtepd

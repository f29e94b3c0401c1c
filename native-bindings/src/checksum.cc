// checksumBatch: the outer IPv4 header and UDP checksums of a batch, in C
// (offload placement `native`). One call per batch; the frames' l3/l4
// metadata say where the outer headers are, and every length the headers
// claim is checked against the frame before anything is read or written.
#include <cstdint>
#include <cstring>

#include "batch_view.h"
#include "checksum.h"
#include "common.h"
#include "stages.h"

namespace vtepd {

namespace {

constexpr uint32_t kModeIp4 = 1, kModeUdp = 2;

inline uint16_t Be16(const uint8_t* p) { return (uint16_t)((p[0] << 8) | p[1]); }

inline void Store(uint8_t* field, uint32_t folded) {
  uint16_t c = (uint16_t)~folded;
  std::memcpy(field, &c, 2);
}

enum class Verdict { kFilled, kBad, kSkipped };

// Checks and fills one frame f[0, len) with metadata l3/l4 (relative to f).
// Nothing is written unless every check has passed.
Verdict One(uint8_t* f, uint32_t len, int32_t l3, int32_t l4, uint32_t mode) {
  if (l3 == VTEPD_NONE) return Verdict::kSkipped;
  if (l3 < 0 || (uint32_t)l3 >= len) return Verdict::kBad;
  uint8_t* ip = f + l3;
  uint32_t room = len - (uint32_t)l3;  // bytes of the frame from the IP header on
  unsigned version = ip[0] >> 4;
  bool v6 = version == 6;
  if (version != 4 && !v6) return Verdict::kSkipped;
  uint32_t ipHdr, ipEnd, proto;  // ipEnd: end of the IP packet, relative to ip
  if (v6) {
    if (room < 40) return Verdict::kBad;
    ipHdr = 40;
    ipEnd = 40u + Be16(ip + 4);
    proto = ip[6];
  } else {
    if (room < 20) return Verdict::kBad;
    ipHdr = (ip[0] & 15u) * 4;
    ipEnd = Be16(ip + 2);
    proto = ip[9];
    if (ipHdr < 20 || ipHdr > room) return Verdict::kBad;
  }
  if (ipEnd < ipHdr || ipEnd > room) return Verdict::kBad;  // the IP length lies

  bool doIp = !v6 && (mode & kModeIp4);
  bool doUdp = false;
  uint32_t udpLen = 0;
  if ((mode & kModeUdp) && l4 != VTEPD_NONE && proto == 17) {
    if (l4 < 0 || (uint32_t)l4 != (uint32_t)l3 + ipHdr) return Verdict::kBad;  // l4 is not where the IP header says
    // A fragment's UDP checksum covers the whole datagram, which is not here.
    if (!v6 && (Be16(ip + 6) & 0x3fff) != 0) return Verdict::kBad;
    if (ipEnd - ipHdr < 8) return Verdict::kBad;
    udpLen = Be16(ip + ipHdr + 4);
    if (udpLen < 8 || udpLen > ipEnd - ipHdr) return Verdict::kBad;  // the UDP length lies
    doUdp = true;
  }
  if (!doIp && !doUdp) return Verdict::kSkipped;

  if (doIp) {
    ip[10] = 0;
    ip[11] = 0;
    Store(ip + 10, SumNative(ip, ipHdr, 0));
  }
  if (doUdp) {
    uint8_t* udp = ip + ipHdr;
    udp[6] = 0;
    udp[7] = 0;
    // Pseudo-header: addresses, protocol, UDP length (IPv6: as a 32-bit word, RFC 8200 8.1).
    uint64_t ph = Native16(17) + Native16((uint16_t)udpLen);
    ph += v6 ? SumNative(ip + 8, 32, 0) : SumNative(ip + 12, 8, 0);
    uint32_t s = SumNative(udp, udpLen, ph);
    uint16_t c = (uint16_t)~s;
    if (c == 0) c = 0xffff;  // 0 means "no checksum" (RFC 768)
    std::memcpy(udp + 6, &c, 2);
  }
  return Verdict::kFilled;
}

// checksumBatch(view, count, mode[, counts]) -> frames filled.
// mode: 1 = outer IPv4 header checksum, 2 = outer UDP checksum (or both).
// counts, when given, is added to in the stage convention (contract.h
// VTEPD_COUNTS_*): in = out = alive frames seen (this stage never drops),
// extra = frames left alone because their metadata or headers lie.
Napi::Value ChecksumBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchView* v = BatchView::From(info[0], "checksumBatch: view");
  uint32_t n = v->CheckCount(info[1]);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "checksumBatch: mode must be a number");
  uint32_t mode = info[2].As<Napi::Number>().Uint32Value();
  if (mode == 0 || (mode & ~(kModeIp4 | kModeUdp)) != 0) throw Napi::RangeError::New(env, "checksumBatch: mode must be 1, 2 or 3");
  uint32_t* counts = nullptr;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    size_t cn = 0;
    counts = TypedData<uint32_t>(info[3], &cn, "checksumBatch: counts");
    if (cn < VTEPD_COUNTS_LEN) throw Napi::RangeError::New(env, "checksumBatch: counts needs VTEPD_COUNTS_LEN elements");
  }
  uint32_t seen = 0, filled = 0, bad = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (v->drop[i] != 0) continue;
    seen++;
    if (!v->FrameInSlot(i)) {
      bad++;
      continue;
    }
    Verdict r = One(v->data + v->offset[i], v->length[i], v->l3[i], v->l4[i], mode);
    if (r == Verdict::kFilled) filled++;
    else if (r == Verdict::kBad) bad++;
  }
  if (counts != nullptr) {
    counts[VTEPD_COUNTS_IN] += seen;
    counts[VTEPD_COUNTS_OUT] += seen;
    counts[VTEPD_COUNTS_EXTRA] += bad;
  }
  return Napi::Number::New(env, filled);
}

}  // namespace

void InitChecksum(Napi::Env env, Napi::Object exports) {
  exports.Set("checksumBatch", Napi::Function::New(env, ChecksumBatch, "checksumBatch"));
}

}  // namespace vtepd

// Native encap stage, byte for byte the same as EncapStage.process
// (src/tunnel/encap.ts) and flowHash (src/tunnel/flow-hash.ts); see encap.h.
// test/tunnel/native-encap.test.ts holds the two side by side.
#include "encap.h"

#include <cmath>
#include <cstring>
#include <string>

#include "checksum.h"
#include "common.h"
#include "stages.h"

namespace vtepd {

namespace {

// Distinct from BatchView's tag: a view passed as the core (or the reverse) is a TypeError.
const napi_type_tag kEncapCoreTag = {0x7674657064656e63ULL, 0x6170636f72650001ULL};

// Largest outer header TS can build: 802.1Q + IPv6 + UDP + GENEVE with 252 option bytes.
constexpr uint32_t kMaxHdr = 18 + 40 + 8 + 8 + 252;

// ---------------------------------------------------------------- flow hash (flow-hash.ts)

constexpr uint32_t kSeed = 0x9747b28cu;

inline uint32_t Mix(uint32_t h, uint32_t k) { return (h ^ k) * 0x01000193u; }
inline uint32_t Be32(const uint8_t* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
inline uint32_t Be16(const uint8_t* p) { return (uint32_t)p[0] << 8 | p[1]; }
inline uint32_t Fmix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// flowHash(d, off, len) with flowInfo as out-parameters: *l3 = inner L3 offset
// relative to the frame (-1 none), *et = ethertype after the VLAN tags.
// Reads only f[0, len).
uint32_t FlowHash(const uint8_t* f, uint32_t len, int32_t* l3, uint32_t* et) {
  uint32_t h = kSeed;
  *l3 = -1;
  *et = 0;
  if (len < 14) {
    for (uint32_t k = 0; k < len; k++) h = Mix(h, f[k]);
    return Fmix(h);
  }
  h = Mix(h, Be32(f));
  h = Mix(h, Be32(f + 4));
  h = Mix(h, Be32(f + 8));
  uint32_t p = 12;
  uint32_t e = Be16(f + p);
  for (int tags = 0; (e == 0x8100 || e == 0x88a8 || e == 0x9100) && tags < 4 && p + 6 <= len; tags++) {
    h = Mix(h, Be16(f + p + 2));
    p += 4;
    e = Be16(f + p);
  }
  h = Mix(h, e);
  p += 2;
  *et = e;
  if (e == 0x0800 && p + 20 <= len && f[p] >> 4 == 4) {
    *l3 = (int32_t)p;
    uint32_t ihl = (f[p] & 15u) << 2;
    uint32_t proto = f[p + 9];
    h = Mix(h, Be32(f + p + 12));
    h = Mix(h, Be32(f + p + 16));
    h = Mix(h, proto);
    uint32_t frag = Be16(f + p + 6) & 0x3fff;
    uint32_t l4 = p + ihl;
    if (frag == 0 && ihl >= 20 && (proto == 6 || proto == 17 || proto == 132) && l4 + 4 <= len) h = Mix(h, Be32(f + l4));
  } else if (e == 0x86dd && p + 40 <= len && f[p] >> 4 == 6) {
    *l3 = (int32_t)p;
    for (uint32_t k = 8; k < 40; k += 4) h = Mix(h, Be32(f + p + k));
    uint32_t nh = f[p + 6];
    h = Mix(h, nh);
    uint32_t l4 = p + 40;
    if ((nh == 6 || nh == 17 || nh == 132) && l4 + 4 <= len) h = Mix(h, Be32(f + l4));
  }
  return Fmix(h);
}

// ---------------------------------------------------------------- config

uint32_t IntField(const Napi::Object& o, const char* name, double min, double max) {
  Napi::Value v = o.Get(name);
  double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= min && d <= max) || d != std::floor(d)) {
    throw Napi::RangeError::New(o.Env(), std::string("EncapCore: ") + name + " must be an integer in " + std::to_string((long long)min) + ".." +
                                             std::to_string((long long)max));
  }
  return (uint32_t)(int64_t)d;
}

bool BoolField(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("EncapCore: ") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

// Per-remote template sums (sum16 results: non-negative integers well below 2^40).
std::vector<uint64_t> SumsField(const Napi::Object& o, const char* name, uint32_t n) {
  size_t len = 0;
  const double* s = TypedData<double>(o.Get(name), &len, (std::string("EncapCore: ") + name).c_str());
  if (len != n) throw Napi::RangeError::New(o.Env(), std::string("EncapCore: ") + name + " needs one entry per remote");
  std::vector<uint64_t> out(n);
  for (uint32_t r = 0; r < n; r++) {
    if (!(s[r] >= 0 && s[r] < 1099511627776.0) || s[r] != std::floor(s[r])) {
      throw Napi::RangeError::New(o.Env(), std::string("EncapCore: ") + name + " entries must be integers in 0..2^40");
    }
    out[r] = (uint64_t)s[r];
  }
  return out;
}

}  // namespace

EncapCore::EncapCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EncapCore>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "EncapCore(config) needs an object");
  Napi::Object c = info[0].As<Napi::Object>();
  Napi::Value tv = c.Get("type");
  std::string ts = tv.IsString() ? tv.As<Napi::String>().Utf8Value() : "";
  if (ts == "vxlan") type_ = kVxlan;
  else if (ts == "geneve") type_ = kGeneve;
  else if (ts == "nvgre") type_ = kNvgre;
  else throw Napi::TypeError::New(env, "EncapCore: type must be 'vxlan', 'geneve' or 'nvgre'");
  const bool udp = type_ != kNvgre;
  v6_ = BoolField(c, "v6");
  udpCsum_ = udp && BoolField(c, "udpCsum");
  copyDscp_ = BoolField(c, "copyDscp");
  vni_ = (int32_t)IntField(c, "vni", 0, 0xffffff);
  mtu_ = IntField(c, "mtu", 1, 65535);
  sportMin_ = IntField(c, "sportMin", 1, 65535);
  sportSpan_ = IntField(c, "sportMax", sportMin_, 65535) - sportMin_ + 1;
  hashFlowId_ = type_ == kNvgre && (int32_t)IntField(c, "flowId", -1, 255) < 0;
  hdrLen_ = IntField(c, "hdrLen", 1, kMaxHdr);
  ethLen_ = IntField(c, "ethLen", 14, 18);
  ipOff_ = IntField(c, "ipOff", 0, kMaxHdr);
  l4Off_ = IntField(c, "l4Off", 0, kMaxHdr);
  tunOff_ = IntField(c, "tunOff", 0, kMaxHdr);
  // Every byte Run() patches lies inside the header it copies in (never past the frame's start).
  if (ethLen_ > hdrLen_ || ipOff_ + (v6_ ? 40 : 20) > hdrLen_ || l4Off_ + 8 > hdrLen_ || tunOff_ + 8 > hdrLen_) {
    throw Napi::RangeError::New(env, "EncapCore: header offsets do not fit hdrLen");
  }
  size_t tlen = 0;
  const uint8_t* t = TypedData<uint8_t>(c.Get("templates"), &tlen, "EncapCore: templates");
  if (tlen == 0 || tlen % hdrLen_ != 0 || tlen / hdrLen_ > 65536) {
    throw Napi::RangeError::New(env, "EncapCore: templates must be 1..65536 headers of hdrLen bytes");
  }
  nRemotes_ = (uint32_t)(tlen / hdrLen_);
  tpl_.assign(t, t + tlen);
  ip4Sum_ = SumsField(c, "ip4Sum", nRemotes_);
  udpSum_ = SumsField(c, "udpSum", nRemotes_);
  size_t cn = 0;
  Napi::Value cv = c.Get("counts");
  if (!cv.IsTypedArray() || cv.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(env, "EncapCore: counts must be a Uint32Array");
  }
  counts_ = TypedData<uint32_t>(cv, &cn, "EncapCore: counts");
  if (cn != VTEPD_COUNTS_LEN) throw Napi::RangeError::New(env, "EncapCore: counts must have VTEPD_COUNTS_LEN entries (stage.ts COUNTS_LEN)");
  countsRef_ = Napi::Persistent(cv.As<Napi::Object>());
  napi_type_tag_object(env, info.This(), &kEncapCoreTag);
}

EncapCore* EncapCore::From(const Napi::Value& v, const char* what) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kEncapCoreTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an EncapCore");
  return Napi::ObjectWrap<EncapCore>::Unwrap(v.As<Napi::Object>());
}

uint32_t EncapCore::Process(Napi::Env env, BatchView& b, uint32_t count) {
  // Bound once at construction (the one rule for native cores: batch_view.h).
  uint32_t* counts = counts_;
  const bool udp = type_ != kNvgre;
  if (v6_) return udp ? Run<true, true>(b, count, counts) : Run<true, false>(b, count, counts);
  return udp ? Run<false, true>(b, count, counts) : Run<false, false>(b, count, counts);
}

template <bool kV6, bool kUdp>
uint32_t EncapCore::Run(BatchView& b, uint32_t n, uint32_t* counts) {
  uint8_t* const d = b.data;
  const uint32_t hdrLen = hdrLen_, eth = ethLen_, ipOff = ipOff_, l4Off = l4Off_, tunOff = tunOff_;
  const uint32_t ipHdr = kV6 ? 40 : 20;
  uint16_t id = ipId_;
  uint32_t nIn = 0, nOut = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (b.drop[i] != 0) continue;
    nIn++;
    const uint32_t off = b.offset[i], len = b.length[i];
    int32_t r = b.outPort[i];
    if (r == VTEPD_NONE) r = 0;
    // Same order as encap.ts; a frame outside its slot (only hostile JS makes one)
    // has no headroom we may write into, so it counts as no-headroom.
    uint8_t code = 0;
    if (r < 0 || (uint32_t)r >= nRemotes_) code = VTEPD_DROP_BAD_REMOTE;
    else if (len < 14) code = VTEPD_DROP_INNER_TOO_SHORT;
    else if ((uint64_t)len + hdrLen - eth > mtu_) code = VTEPD_DROP_MTU_EXCEEDED;
    else if (!b.FrameInSlot(i) || b.Headroom(i) < hdrLen) code = VTEPD_DROP_NO_HEADROOM;
    if (code != 0) {
      b.drop[i] = code;
      counts[VTEPD_COUNTS_DROPS + code]++;
      continue;
    }
    const uint8_t* f = d + off;
    int32_t l3;
    uint32_t et;
    const uint32_t h = FlowHash(f, len, &l3, &et);
    const uint32_t o = off - hdrLen;
    uint8_t* const out = d + o;
    std::memcpy(out, tpl_.data() + (size_t)r * hdrLen, hdrLen);
    const uint32_t ipLen = len + hdrLen - eth;
    uint8_t* const ip = out + ipOff;
    uint32_t tos = 0;
    if (copyDscp_ && l3 >= 0) {
      const uint8_t* q = f + l3;
      tos = et == 0x0800 ? q[1] : ((q[0] & 15u) << 4) | (q[1] >> 4);
    }
    if (kV6) {
      const uint32_t pl = ipLen - 40;
      ip[0] = (uint8_t)(0x60 | (tos >> 4));
      ip[1] = (uint8_t)(((tos & 15) << 4) | ((h >> 16) & 15));
      ip[2] = (uint8_t)(h >> 8);
      ip[3] = (uint8_t)h;
      ip[4] = (uint8_t)(pl >> 8);
      ip[5] = (uint8_t)pl;
    } else {
      id = (uint16_t)(id + 1);
      ip[1] = (uint8_t)tos;
      ip[2] = (uint8_t)(ipLen >> 8);
      ip[3] = (uint8_t)ipLen;
      ip[4] = (uint8_t)(id >> 8);
      ip[5] = (uint8_t)id;
      const uint32_t cs = ~Fold(ip4Sum_[r] + ipLen + id + tos) & 0xffff;
      ip[10] = (uint8_t)(cs >> 8);
      ip[11] = (uint8_t)cs;
    }
    if (kUdp) {
      uint8_t* const u = out + l4Off;
      const uint32_t ulen = ipLen - ipHdr;
      const uint32_t sport = sportMin_ + (((h >> 16) * sportSpan_) >> 16);
      u[0] = (uint8_t)(sport >> 8);
      u[1] = (uint8_t)sport;
      u[4] = (uint8_t)(ulen >> 8);
      u[5] = (uint8_t)ulen;
      if (udpCsum_) {
        uint32_t cs = ~Fold(udpSum_[r] + ulen + ulen + sport + SumBe16(f, len)) & 0xffff;
        if (cs == 0) cs = 0xffff;  // 0 means "no checksum" (RFC 768)
        u[6] = (uint8_t)(cs >> 8);
        u[7] = (uint8_t)cs;
      }
      b.entropy[i] = sport;
    } else {
      if (hashFlowId_) out[tunOff + 7] = (uint8_t)h;
      b.entropy[i] = out[tunOff + 7];
    }
    b.offset[i] = o;
    b.length[i] = len + hdrLen;
    b.wireLength[i] += hdrLen;
    b.vni[i] = vni_;
    b.l2[i] = 0;
    b.l3[i] = (int32_t)ipOff;
    b.l4[i] = (int32_t)l4Off;
    b.innerL2[i] = (int32_t)hdrLen;
    nOut++;
  }
  ipId_ = id;
  counts[VTEPD_COUNTS_IN] += nIn;
  counts[VTEPD_COUNTS_OUT] += nOut;
  return nOut;
}

void EncapCore::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("EncapCore", DefineClass(env, "EncapCore", {}));
}

namespace {

const char* const kTypeName[] = {"vxlan", "geneve", "nvgre"};

// xxxEncapBatch(core, batchView, count) -> frames left alive.
template <EncapCore::Type T>
Napi::Value EncapBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EncapCore* core = EncapCore::From(info[0], "core");
  if (core->type() != T) {
    throw Napi::TypeError::New(env, std::string(kTypeName[T]) + "EncapBatch: core is a " + kTypeName[core->type()] + " EncapCore");
  }
  BatchView* b = BatchView::From(info[1], "batch");
  uint32_t n = b->CheckCount(info[2]);
  return Napi::Number::New(env, core->Process(env, *b, n));
}

}  // namespace

void InitEncap(Napi::Env env, Napi::Object exports) {
  EncapCore::Init(env, exports);
  exports.Set("vxlanEncapBatch", Napi::Function::New(env, EncapBatch<EncapCore::kVxlan>, "vxlanEncapBatch"));
  exports.Set("geneveEncapBatch", Napi::Function::New(env, EncapBatch<EncapCore::kGeneve>, "geneveEncapBatch"));
  exports.Set("nvgreEncapBatch", Napi::Function::New(env, EncapBatch<EncapCore::kNvgre>, "nvgreEncapBatch"));
}

}  // namespace vtepd

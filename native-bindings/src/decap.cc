// Native decap stage: DecapStage.process / parseLevel of src/tunnel/decap.ts,
// same order of checks, so the same drop code for every frame (the TS file is
// the specification: comments there say why each check is where it is).
//
// The one deliberate difference: a frame that is not inside its slot (offset /
// length written by JS so that it leaves slot i) is dropped as 'truncated'
// without being read. TypeScript would read neighbouring slots or undefined
// bytes there; C never leaves the slot.
#include "decap.h"

#include <cstring>
#include <string>

#include "checksum.h"
#include "common.h"
#include "stages.h"

namespace vtepd {

namespace {

constexpr int kNotTunnel = -1;
// Drop codes: the global registry (src/batch/drop-reasons.ts) through the generated contract.
enum : int {
  kDropNotTunnel = VTEPD_DROP_NOT_TUNNEL, kDropTruncated = VTEPD_DROP_TRUNCATED, kDropIpBadHeader = VTEPD_DROP_IP_BAD_HEADER,
  kDropIpBadLength = VTEPD_DROP_IP_BAD_LENGTH, kDropIp4BadChecksum = VTEPD_DROP_IP4_BAD_CHECKSUM, kDropIpFragment = VTEPD_DROP_IP_FRAGMENT,
  kDropUdpBadLength = VTEPD_DROP_UDP_BAD_LENGTH, kDropUdpBadChecksum = VTEPD_DROP_UDP_BAD_CHECKSUM,
  kDropUdp6ZeroChecksum = VTEPD_DROP_UDP6_ZERO_CHECKSUM, kDropVxlanBadFlags = VTEPD_DROP_VXLAN_BAD_FLAGS,
  kDropGeneveBadVersion = VTEPD_DROP_GENEVE_BAD_VERSION, kDropGeneveBadOptLength = VTEPD_DROP_GENEVE_BAD_OPT_LENGTH,
  kDropGeneveCriticalOption = VTEPD_DROP_GENEVE_CRITICAL_OPTION, kDropGeneveControl = VTEPD_DROP_GENEVE_CONTROL,
  kDropGeneveNonEthernet = VTEPD_DROP_GENEVE_NON_ETHERNET, kDropNvgreBadFlags = VTEPD_DROP_NVGRE_BAD_FLAGS,
  kDropUnknownVni = VTEPD_DROP_UNKNOWN_VNI, kDropZeroPayload = VTEPD_DROP_ZERO_PAYLOAD, kDropInnerTooShort = VTEPD_DROP_INNER_TOO_SHORT,
  kDropNestedTooDeep = VTEPD_DROP_NESTED_TOO_DEEP, kDropTunnelTypeMismatch = VTEPD_DROP_TUNNEL_TYPE_MISMATCH,
};

constexpr uint32_t kEthPTeb = 0x6558;
// portType values are tunnel kinds (tunnel-config.ts PORT_VXLAN / PORT_GENEVE = TunnelKind).
constexpr int kKindVxlan = VTEPD_KIND_VXLAN, kKindNvgre = VTEPD_KIND_NVGRE;
constexpr uint16_t kNotKind = (uint16_t)~VTEPD_FLAG_TUNNEL_KIND;

const napi_type_tag kDecapCoreTag = {0x7674657064656361ULL, 0x70636f7265000001ULL};

inline uint32_t Be16(const uint8_t* d, size_t p) { return ((uint32_t)d[p] << 8) | d[p + 1]; }
inline uint32_t Be32(const uint8_t* d, size_t p) {
  return ((uint32_t)d[p] << 24) | ((uint32_t)d[p + 1] << 16) | ((uint32_t)d[p + 2] << 8) | d[p + 3];
}

bool Bool(const Napi::Object& c, const char* name) {
  Napi::Value v = c.Get(name);
  if (!v.IsBoolean()) throw Napi::TypeError::New(c.Env(), std::string("DecapCore: config.") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

}  // namespace

DecapCore::DecapCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DecapCore>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject()) throw Napi::TypeError::New(env, "DecapCore(resolvedDecapConfig, counts: Uint32Array)");
  Napi::Object c = info[0].As<Napi::Object>();
  size_t len = 0;
  const uint8_t* pt = TypedData<uint8_t>(c.Get("portType"), &len, "DecapCore: config.portType");
  if (len != 65536) throw Napi::RangeError::New(env, "DecapCore: config.portType must have 65536 entries");
  for (size_t k = 0; k < len; k++) {
    if (pt[k] > VTEPD_KIND_GENEVE) throw Napi::RangeError::New(env, "DecapCore: config.portType entries must be 0, 1 (VXLAN) or 2 (GENEVE)");
  }
  std::memcpy(portType_, pt, sizeof portType_);
  Napi::Value vk = c.Get("vniKind");
  if (!vk.IsNull()) {
    const uint32_t* b = TypedData<uint32_t>(vk, &len, "DecapCore: config.vniKind");
    if (len != (1u << 20)) throw Napi::RangeError::New(env, "DecapCore: config.vniKind must have 2^20 words (2 bits for each of 2^24 VNIs) or be null");
    vniKind_.assign(b, b + len);
  }
  const int32_t* known = TypedData<int32_t>(c.Get("geneveKnown"), &len, "DecapCore: config.geneveKnown");
  geneveKnown_.assign(known, known + len);
  nvgre_ = Bool(c, "nvgre");
  keepOther_ = Bool(c, "keepOther");
  verifyUdpCsum_ = Bool(c, "verifyUdpCsum");
  zeroCsum6Rx_ = Bool(c, "zeroCsum6Rx");
  verifyIp4Csum_ = Bool(c, "verifyIp4Csum");
  checkKind_ = Bool(c, "checkKind");
  Napi::Value md = c.Get("maxDepth");
  double depth = md.IsNumber() ? md.As<Napi::Number>().DoubleValue() : 0;
  if (!(depth >= 1 && depth <= 8) || depth != (int)depth) throw Napi::RangeError::New(env, "DecapCore: config.maxDepth must be an integer in 1..8");
  maxDepth_ = (int)depth;

  counts_ = TypedData<uint32_t>(info[1], &len, "DecapCore: counts");
  if (len != VTEPD_COUNTS_LEN) throw Napi::RangeError::New(env, "DecapCore: counts must have VTEPD_COUNTS_LEN entries (stage.ts COUNTS_LEN)");
  countsRef_ = Napi::Persistent(info[1].As<Napi::Object>());
  napi_type_tag_object(env, info.This(), &kDecapCoreTag);
}

DecapCore* DecapCore::From(const Napi::Value& v, const char* what) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kDecapCoreTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a DecapCore");
  return Napi::ObjectWrap<DecapCore>::Unwrap(v.As<Napi::Object>());
}

bool DecapCore::KnownOption(int32_t key) const {
  for (int32_t k : geneveKnown_)
    if (k == key) return true;
  return false;
}

// decap.ts parseLevel: one tunnel level of the Ethernet frame d[p0, end).
// Every read stays below `end`, which the caller keeps inside the frame's slot.
// Inlined into Process: the calls otherwise go through the PLT and Level through memory (~15% of the stage).
__attribute__((always_inline)) inline int DecapCore::ParseLevel(const uint8_t* d, size_t p0, size_t end, bool outer, Level* r) const {
  if (end < p0 + 14) return kNotTunnel;
  size_t p = p0 + 12;
  uint32_t et = Be16(d, p);
  for (int tags = 0; et == 0x8100 || et == 0x88a8 || et == 0x9100; tags++) {
    if (tags == 4 || p + 6 > end) return kNotTunnel;
    p += 4;
    et = Be16(d, p);
  }
  p += 2;
  size_t l4;
  uint32_t proto;
  int frag;  // 0 none, 1 first fragment, 2 later fragment
  bool v6;
  if (et == 0x0800) {
    if (p + 20 > end || (d[p] >> 4) != 4) return kNotTunnel;
    proto = d[p + 9];
    if (proto != 17 && (proto != 47 || !nvgre_)) return kNotTunnel;
    size_t ihl = (size_t)(d[p] & 15) << 2;
    if (ihl < 20) return kDropIpBadHeader;
    uint32_t fo = Be16(d, p + 6) & 0x3fff;
    frag = fo == 0 ? 0 : (fo & 0x1fff) == 0 ? 1 : 2;
    l4 = p + ihl;
    v6 = false;
  } else if (et == 0x86dd) {
    if (p + 40 > end || (d[p] >> 4) != 6) return kNotTunnel;
    proto = d[p + 6];
    l4 = p + 40;
    frag = 0;
    for (int k = 0; proto == 0 || proto == 43 || proto == 60 || proto == 44; k++) {
      if (k == 4) return kDropIpBadHeader;
      if (l4 + 8 > end) return kNotTunnel;
      if (proto == 44) {
        frag = (Be16(d, l4 + 2) & 0xfff8) != 0 ? 2 : 1;
        proto = d[l4];
        l4 += 8;
      } else {
        proto = d[l4];
        l4 += ((size_t)d[l4 + 1] + 1) << 3;
      }
    }
    if (proto != 17 && (proto != 47 || !nvgre_)) return kNotTunnel;
    v6 = true;
  } else {
    return kNotTunnel;
  }
  if (frag == 2) return kDropIpFragment;
  if (l4 + 4 > end) return kNotTunnel;
  int kind;
  if (proto == 17) {
    kind = portType_[Be16(d, l4 + 2)];
    if (kind == 0) return kNotTunnel;
  } else {
    if (Be16(d, l4 + 2) != kEthPTeb) return kNotTunnel;
    kind = kKindNvgre;
  }
  if (outer) r->kind = kind;
  if (frag != 0) return kDropIpFragment;
  const size_t minL4 = kind == kKindNvgre ? 4 : 8;  // the L4 header classification read (decap.ts says why)
  size_t ipEnd;
  if (!v6) {
    size_t ihl = (size_t)(d[p] & 15) << 2;
    size_t tl = Be16(d, p + 2);
    if (tl < ihl + minL4 || p + tl > end) return kDropIpBadLength;
    if (verifyIp4Csum_ && SumFold(d, p, ihl, 0) != 0xffff) return kDropIp4BadChecksum;
    ipEnd = p + tl;
    r->src = p + 12;
  } else {
    ipEnd = p + 40 + Be16(d, p + 4);
    if (ipEnd > end || l4 + minL4 > ipEnd) return kDropIpBadLength;
    r->src = p + 8;
  }
  r->v6 = v6;
  size_t tEnd;
  if (kind == kKindNvgre) {
    if (l4 + 8 > ipEnd) return kDropTruncated;
    if ((Be16(d, l4) & 0xf807) != 0x2000) return kDropNvgreBadFlags;
    r->vni = ((uint32_t)d[l4 + 4] << 16) | ((uint32_t)d[l4 + 5] << 8) | d[l4 + 6];
    r->entropy = d[l4 + 7];
    r->inner = l4 + 8;
    tEnd = ipEnd;
  } else {
    if (l4 + 8 > ipEnd) return kDropTruncated;
    size_t ulen = Be16(d, l4 + 4);
    if (ulen < 8 || l4 + ulen > ipEnd) return kDropUdpBadLength;
    tEnd = l4 + ulen;
    if (Be16(d, l4 + 6) == 0) {
      if (v6 && !zeroCsum6Rx_) return kDropUdp6ZeroChecksum;
    } else if (verifyUdpCsum_) {
      uint32_t pseudo = SumFold(d, r->src, v6 ? 32 : 8, 17 + ulen);
      if (SumFold(d, l4, ulen, pseudo) != 0xffff) return kDropUdpBadChecksum;
    }
    r->entropy = Be16(d, l4);
    size_t h = l4 + 8;
    if (h + 8 > tEnd) return kDropTruncated;
    if (kind == kKindVxlan) {
      if ((d[h] & 0x08) == 0) return kDropVxlanBadFlags;
      r->inner = h + 8;
    } else {
      if ((d[h] >> 6) != 0) return kDropGeneveBadVersion;
      size_t optEnd = h + 8 + ((size_t)(d[h] & 63) << 2);
      if (optEnd > tEnd) return kDropGeneveBadOptLength;
      if ((d[h + 1] & 0x80) != 0) return kDropGeneveControl;
      if (Be16(d, h + 2) != kEthPTeb) return kDropGeneveNonEthernet;
      for (size_t q = h + 8; q < optEnd;) {
        if (q + 4 > optEnd) return kDropGeneveBadOptLength;
        size_t olen = 4 + ((size_t)(d[q + 3] & 31) << 2);
        if (q + olen > optEnd) return kDropGeneveBadOptLength;
        if ((d[q + 2] & 0x80) != 0 && !KnownOption((int32_t)(((uint32_t)d[q] << 16) | ((uint32_t)d[q + 1] << 8) | d[q + 2]))) {
          return kDropGeneveCriticalOption;
        }
        q += olen;
      }
      r->inner = optEnd;
    }
    r->vni = ((uint32_t)d[h + 4] << 16) | ((uint32_t)d[h + 5] << 8) | d[h + 6];
  }
  size_t innerLen = tEnd - r->inner;
  if (innerLen == 0) return kDropZeroPayload;
  if (innerLen < 14) return kDropInnerTooShort;
  if (outer && !vniKind_.empty()) {
    const int k = (int)((vniKind_[r->vni >> 4] >> ((r->vni & 15) << 1)) & 3);
    if (k == 0) return kDropUnknownVni;
    if (k != kind && checkKind_) return kDropTunnelTypeMismatch;
  }
  r->end = tEnd;
  return 0;
}

void DecapCore::Process(BatchView* v, uint32_t n) {
  // Locals, not v->...: the compiler cannot prove stores through the uint32_t
  // arrays leave BatchView's own fields alone, and would reload them per frame.
  const uint8_t* d = v->data;
  const size_t dataLen = v->dataLen;
  const uint64_t slot = v->slotSize;
  uint32_t *offs = v->offset, *lens = v->length, *wire = v->wireLength, *ra = v->remoteAddr, *entropy = v->entropy;
  uint8_t* drop = v->drop;
  uint16_t* flags = v->flags;
  int32_t *vni = v->vni, *l2 = v->l2, *l3 = v->l3, *l4 = v->l4, *innerL2 = v->innerL2;
  uint32_t drops[VTEPD_DROP_CODES] = {};
  uint32_t nIn = 0, nOut = 0, nPassed = 0;
  Level r;
  for (uint32_t i = 0; i < n; i++) {
    // Headers of a frame a few ahead (a hint: a bad offset only makes it useless, never faults).
    if (i + 4 < n && offs[i + 4] < dataLen) __builtin_prefetch(d + offs[i + 4] + 14);
    if (drop[i] != 0) continue;
    nIn++;
    int code;
    const uint64_t off = offs[i], lo = i * slot;
    if (off < lo || off + lens[i] > lo + slot) {
      code = kDropTruncated;  // BatchView::FrameInSlot false; see the file comment
    } else {
      r.kind = 0;
      code = ParseLevel(d, off, off + lens[i], true, &r);
      // The outermost level's kind, also for a frame about to be dropped (the trace shows it).
      flags[i] = (uint16_t)((flags[i] & kNotKind) | (r.kind << VTEPD_TUNNEL_KIND_SHIFT));
      if (code == kNotTunnel) {
        if (keepOther_) {
          nPassed++;
          nOut++;
          continue;
        }
        code = kDropNotTunnel;
      }
      if (code == 0) {
        const Level top = r;  // metadata and the VNI filter use the outermost level
        size_t inner = r.inner, end = r.end;
        for (int depth = 1; depth < maxDepth_ || (maxDepth_ > 1 && depth == maxDepth_); depth++) {
          int c2 = ParseLevel(d, inner, end, false, &r);
          if (c2 == kNotTunnel) break;
          if (c2 != 0) code = c2;
          else if (depth == maxDepth_) code = kDropNestedTooDeep;
          if (code != 0) break;
          inner = r.inner;
          end = r.end;
        }
        if (code == 0) {
          uint32_t* a = ra + ((size_t)i << 2);
          a[0] = Be32(d, top.src);
          if (top.v6) {
            a[1] = Be32(d, top.src + 4);
            a[2] = Be32(d, top.src + 8);
            a[3] = Be32(d, top.src + 12);
            flags[i] = (uint16_t)((flags[i] | VTEPD_FLAG_DECAPPED | VTEPD_FLAG_REMOTE_V6) & ~VTEPD_FLAG_TRUNCATED);
          } else {
            a[1] = a[2] = a[3] = 0;
            flags[i] = (uint16_t)((flags[i] | VTEPD_FLAG_DECAPPED) & ~(VTEPD_FLAG_REMOTE_V6 | VTEPD_FLAG_TRUNCATED));
          }
          offs[i] = (uint32_t)inner;
          lens[i] = (uint32_t)(end - inner);
          wire[i] = (uint32_t)(end - inner);
          vni[i] = (int32_t)top.vni;
          entropy[i] = top.entropy;
          l2[i] = 0;
          l3[i] = VTEPD_NONE;
          l4[i] = VTEPD_NONE;
          innerL2[i] = 0;
          nOut++;
          continue;
        }
      }
      if ((flags[i] & VTEPD_FLAG_TRUNCATED) != 0 && (code == kDropIpBadLength || code == kDropUdpBadLength)) code = kDropTruncated;
    }
    drop[i] = (uint8_t)code;
    drops[code]++;
  }
  counts_[VTEPD_COUNTS_IN] += nIn;
  counts_[VTEPD_COUNTS_OUT] += nOut;
  counts_[VTEPD_COUNTS_EXTRA] += nPassed;
  for (uint32_t c = 1; c < VTEPD_DROP_CODES; c++) counts_[VTEPD_COUNTS_DROPS + c] += drops[c];
}

// vxlanDecapBatch / geneveDecapBatch / nvgreDecapBatch (core, view, count).
Napi::Value DecapCore::DecapBatch(const Napi::CallbackInfo& info) {
  DecapCore* core = From(info[0], "decap: core");
  BatchView* v = BatchView::From(info[1], "decap: view");
  core->Process(v, v->CheckCount(info[2]));
  return info.Env().Undefined();
}

void DecapCore::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("DecapCore", DefineClass(env, "DecapCore", {}));
  for (const char* name : {"vxlanDecapBatch", "geneveDecapBatch", "nvgreDecapBatch"}) {
    exports.Set(name, Napi::Function::New(env, &DecapCore::DecapBatch, name));
  }
}

void InitDecap(Napi::Env env, Napi::Object exports) { DecapCore::Init(env, exports); }

}  // namespace vtepd

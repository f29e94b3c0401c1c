// Native forwarding/learning fast path of the L2 bridge (src/l2/native-bridge-stage.ts).
//
// The MAC table stays in ONE place: the MacTable's Int32Array `words`, shared
// with TypeScript. C only does what cannot change the table's shape: classify
// frames by the BridgeDomains maps (read-only), refresh the stamp of a known
// source at its own place, look up destinations and decide (unicast, flood,
// drop) exactly as BridgeStage.process does. Anything else (a miss, a move, an
// aged or static-elsewhere source, an autoCreate classification, a frame not
// inside its slot) is handed back to TypeScript, which runs the exact TS code
// for it, so inserts, moves, limits, dampening and their counters live in one
// place. Pass 2 stops at the first such frame and is resumed after it: the
// frames are decided in order, as the all-TypeScript stage does.
#include "fdb.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "common.h"
#include "stages.h"

namespace vtepd {

namespace {

// mac-store.ts, mac-learn.ts, counters.ts, bridge-stage.ts and the drop registry, through the generated contract.
constexpr int32_t kLocal = VTEPD_MAC_LOCAL, kRemote = VTEPD_MAC_REMOTE, kStatic = VTEPD_MAC_STATIC;
constexpr int32_t kOutMask = VTEPD_MAC_OUT_MASK, kPlaceMask = VTEPD_MAC_PLACE_MASK;
constexpr int kDistShift = VTEPD_MAC_DIST_SHIFT;
// Slots loaded together so their misses overlap.
constexpr uint32_t kTouchGroup = VTEPD_TOUCH_GROUP;
enum {
  kCtrIn = VTEPD_BRIDGE_CTR_IN, kCtrUnicast = VTEPD_BRIDGE_CTR_UNICAST, kCtrFlooded = VTEPD_BRIDGE_CTR_FLOODED,
  kCtrFloodCopies = VTEPD_BRIDGE_CTR_FLOOD_COPIES, kCtrDropped = VTEPD_BRIDGE_CTR_DROPPED, kNC = VTEPD_BRIDGE_CTR_LEN,
};
// Per-domain drop arrays are indexed by registry code.
enum {
  kDropRunt = VTEPD_DROP_RUNT, kDropInvalidSrc = VTEPD_DROP_INVALID_SRC, kDropNoDomain = VTEPD_DROP_NO_DOMAIN,
  kDropUnknownRemote = VTEPD_DROP_UNKNOWN_REMOTE, kDropSamePort = VTEPD_DROP_SAME_PORT, kDropRemoteToRemote = VTEPD_DROP_REMOTE_TO_REMOTE,
  kDropNoFloodTarget = VTEPD_DROP_NO_FLOOD_TARGET, kND = VTEPD_DROP_CODES,
};
enum { kActDrop = VTEPD_ACTION_DROP, kActLocal = VTEPD_ACTION_LOCAL, kActRemote = VTEPD_ACTION_REMOTE, kActFlood = VTEPD_ACTION_FLOOD };

inline uint32_t Rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// mac-hash.ts macHash (Math.imul is a wrapping u32 multiply).
inline uint32_t MacHash(uint32_t kh, uint32_t kl, uint32_t s0, uint32_t s1) {
  uint32_t a = (kl ^ s0) * 0xcc9e2d51u;
  a = Rotl(a, 15) * 0x1b873593u;
  uint32_t b = (kh ^ s1) * 0x85ebca6bu;
  b = Rotl(b, 13);
  uint32_t h = (a ^ b) * 0xc2b2ae35u;
  return h ^ (h >> 16);
}

// bridge-domain.ts addrHash.
inline uint32_t AddrHash(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, bool v6) {
  uint32_t h = (w0 ^ 0x27d4eb2fu) * 0x85ebca6bu;
  if (v6) h = ((h ^ w1) * 0xc2b2ae35u) ^ ((w2 ^ (h >> 13)) * 0x85ebca6bu) ^ (w3 * 0x165667b1u) ^ 1u;
  return h ^ (h >> 16);
}

// ECMAScript ToInt32 (what `| 0` does to a double).
inline int32_t ToInt32(double x) {
  if (x >= -2147483648.0 && x < 2147483648.0) return (int32_t)x;
  if (!std::isfinite(x)) return 0;
  double m = std::fmod(std::trunc(x), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return (int32_t)(uint32_t)m;
}

// mac-learn.ts ticksOf: the same IEEE operations in the same order, so the same ticks.
inline int32_t TicksOf(double sec, uint32_t nsec) {
  double a = std::floor(sec) * 100.0;
  double b = std::floor((double)nsec / 1e7);
  return ToInt32(a + b);
}

inline int32_t Wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

// mac-store.ts probeFrom: word index of the key's slot, -1 when absent, -2 when the probe
// would leave `words` (only a corrupted table can do that: a MacStore's last slot stays empty).
inline int32_t ProbeWords(const int32_t* w, uint32_t wlen, uint32_t b, int32_t kh, int32_t kl) {
  for (int32_t d = 0; b + 4 <= wlen; d++, b += 4) {
    int32_t m = w[b + 2];
    if (w[b + 1] == kl && w[b] == kh && m != 0) return (int32_t)b;
    if (m == 0 || (m >> kDistShift) < d) return -1;
  }
  return -2;
}

const napi_type_tag kFdbCoreTag = {0x7674657066646263ULL, 0x6f72650000000001ULL};

template <typename T>
T* Bind(const Napi::Value& v, size_t* len, const char* what, Napi::ObjectReference* keep) {
  T* p = TypedData<T>(v, len, what);
  *keep = Napi::Persistent(v.As<Napi::Object>());
  return p;
}

}  // namespace

int32_t FdbCore::PairMap::Get(int32_t a, int32_t b) const {
  if (vals == nullptr) return -1;
  // key-map.ts KeyPairMap.slot / get.
  uint32_t h = (((uint32_t)a ^ 0x9e3779b9u) * 0x85ebca6bu) ^ (((uint32_t)b ^ 0x7f4a7c15u) * 0xc2b2ae35u);
  h = (h ^ (h >> 15)) * 0x2c1b3c6du;
  uint32_t i = (h ^ (h >> 16)) & mask;
  // Bounded (TS relies on the load staying under 1/2, C does not trust it).
  for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
    int32_t v = vals[i];
    if (v == -1) return -1;
    if (keys[2 * i] == a && keys[2 * i + 1] == b) return v;
  }
  return -1;
}

FdbCore::FdbCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdbCore>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "FdbCore(words, ageing, s0, s1, homeSlots)");
  size_t wl = 0, al = 0;
  words_ = Bind<int32_t>(info[0], &wl, "words", &wordsRef_);
  ageing_ = Bind<int32_t>(info[1], &al, "ageing", &ageingRef_);
  if (!info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber()) throw Napi::TypeError::New(env, "FdbCore: s0, s1, homeSlots must be numbers");
  s0_ = (uint32_t)info[2].As<Napi::Number>().Int32Value();
  s1_ = (uint32_t)info[3].As<Napi::Number>().Int32Value();
  double hs = info[4].As<Napi::Number>().DoubleValue();
  if (!(hs >= 1 && hs <= (1 << 26)) || hs != std::floor(hs)) throw Napi::RangeError::New(env, "FdbCore: homeSlots must be 1..2^26");
  if (wl % 4 != 0 || wl < ((size_t)hs + 1) * 4) throw Napi::RangeError::New(env, "FdbCore: words is smaller than homeSlots + 1 slots");
  wordsLen_ = (uint32_t)wl;
  ageingLen_ = (uint32_t)al;
  // mac-store.ts: homeSlots * 2^-32 (exact: a power-of-two scaling).
  scale_ = hs * 2.3283064365386963e-10;
  napi_type_tag_object(env, info.This(), &kFdbCoreTag);
}

// bindStage(io, action, domainOf, srcPlace, tagLen, stamp, keys, hashes, slow, counters, drops, dropsNoDomain)
Napi::Value FdbCore::BindStage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 12) throw Napi::TypeError::New(env, "bindStage needs 12 typed arrays");
  size_t n[12];
  io_ = Bind<int32_t>(info[0], &n[0], "io", &stageRefs_[0]);
  action_ = Bind<uint8_t>(info[1], &n[1], "action", &stageRefs_[1]);
  domainOf_ = Bind<int32_t>(info[2], &n[2], "domainOf", &stageRefs_[2]);
  srcPlace_ = Bind<int32_t>(info[3], &n[3], "srcPlace", &stageRefs_[3]);
  tagLen_ = Bind<uint8_t>(info[4], &n[4], "tagLen", &stageRefs_[4]);
  stamp_ = Bind<int32_t>(info[5], &n[5], "stamp", &stageRefs_[5]);
  keys_ = Bind<int32_t>(info[6], &n[6], "keys", &stageRefs_[6]);
  hashes_ = Bind<int32_t>(info[7], &n[7], "hashes", &stageRefs_[7]);
  slow_ = Bind<uint8_t>(info[8], &n[8], "slow", &stageRefs_[8]);
  counters_ = Bind<double>(info[9], &n[9], "counters", &stageRefs_[9]);
  drops_ = Bind<double>(info[10], &n[10], "drops", &stageRefs_[10]);
  dropsNoDomain_ = Bind<double>(info[11], &n[11], "dropsNoDomain", &stageRefs_[11]);
  if (n[0] < kIoLen || n[11] < kND) throw Napi::RangeError::New(env, "bindStage: io or dropsNoDomain too short");
  size_t cap = n[1];
  for (int k : {2, 3, 4, 5, 8}) cap = n[k] < cap ? n[k] : cap;
  cap = n[6] / 4 < cap ? n[6] / 4 : cap;
  cap = n[7] / 2 < cap ? n[7] / 2 : cap;
  frames_ = (uint32_t)(cap > 65536 ? 65536 : cap);
  size_t nd = n[9] / kNC;
  if (n[10] / kND < nd) nd = n[10] / kND;
  stageDomains_ = (uint32_t)(nd > 65536 ? 65536 : nd);
  return env.Undefined();
}

// bindMaps(byVniKeys, byVniVals, byPortVlanKeys, byPortVlanVals, remotePosKeys, remotePosVals, byAddrKeys, byAddrVals, remoteAddr, remoteV6)
Napi::Value FdbCore::BindMaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 10) throw Napi::TypeError::New(env, "bindMaps needs 10 typed arrays");
  PairMap* maps[4] = {&byVni_, &byPortVlan_, &remotePos_, &byAddr_};
  static const char* names[4] = {"byVni", "byPortVlan", "remotePos", "byAddr"};
  for (int k = 0; k < 4; k++) {
    size_t kl = 0, vl = 0;
    PairMap* m = maps[k];
    const int32_t* keys = Bind<int32_t>(info[2 * k], &kl, names[k], &m->keysRef);
    const int32_t* vals = Bind<int32_t>(info[2 * k + 1], &vl, names[k], &m->valsRef);
    if (vl == 0 || (vl & (vl - 1)) != 0 || kl != 2 * vl || vl > (1u << 30)) {
      m->keys = m->vals = nullptr;
      throw Napi::RangeError::New(env, std::string("bindMaps: ") + names[k] + " is not a KeyPairMap layout");
    }
    m->keys = keys;
    m->vals = vals;
    m->mask = (uint32_t)(vl - 1);
  }
  size_t al = 0, vl = 0;
  remoteAddr_ = Bind<uint32_t>(info[8], &al, "remoteAddr", &remoteAddrRef_);
  remoteV6_ = Bind<uint8_t>(info[9], &vl, "remoteV6", &remoteV6Ref_);
  remotes_ = (uint32_t)(al / 4 < vl ? al / 4 : vl);
  return env.Undefined();
}

// bindFlood(portStart, ports, remoteCount): per domain d, its member ports are ports[portStart[d] .. portStart[d+1]).
Napi::Value FdbCore::BindFlood(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "bindFlood needs 3 typed arrays");
  size_t sl = 0, pl = 0, rl = 0;
  const int32_t* start = Bind<int32_t>(info[0], &sl, "portStart", &floodRefs_[0]);
  const int32_t* ports = Bind<int32_t>(info[1], &pl, "ports", &floodRefs_[1]);
  const int32_t* rn = Bind<int32_t>(info[2], &rl, "remoteCount", &floodRefs_[2]);
  floodDomains_ = 0;
  if (sl == 0 || rl < sl - 1) throw Napi::RangeError::New(env, "bindFlood: remoteCount shorter than the domains");
  // Checked once here so the per-frame count never reads outside `ports`.
  for (size_t d = 0; d + 1 < sl; d++) {
    if (start[d] < 0 || start[d] > start[d + 1] || (size_t)start[d + 1] > pl) throw Napi::RangeError::New(env, "bindFlood: bad portStart");
  }
  portStart_ = start;
  floodPorts_ = ports;
  floodRemotes_ = rn;
  floodDomains_ = (uint32_t)(sl - 1 > 65536 ? 65536 : sl - 1);
  return env.Undefined();
}

int32_t FdbCore::RemoteIndex(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, bool v6) const {
  // bridge-domain.ts remoteIndex: a chain of (hash, step) entries.
  int32_t h = (int32_t)AddrHash(w0, w1, w2, w3, v6);
  for (uint32_t step = 0; step <= byAddr_.mask; step++) {
    int32_t r = byAddr_.Get(h, (int32_t)step);
    if (r < 0) return -1;
    if ((uint32_t)r >= remotes_) continue;  // TS reads undefined there: no match
    const uint32_t* a = remoteAddr_ + ((size_t)r << 2);
    if (v6 ? remoteV6_[r] == 1 && a[0] == w0 && a[1] == w1 && a[2] == w2 && a[3] == w3 : remoteV6_[r] == 0 && a[0] == w0) return r;
  }
  return -1;
}

void FdbCore::DropFrame(BatchView* v, uint32_t i, int32_t dom, int code) {
  v->drop[i] = (uint8_t)code;
  domainOf_[i] = -1;
  if (dom < 0) {
    dropsNoDomain_[code]++;
    return;
  }
  drops_[(size_t)dom * kND + code]++;
  counters_[(size_t)dom * kNC + kCtrDropped]++;
}

// Pass 1 (BridgeStage.process first loop + classify). Returns whether some frame needs TS classification.
bool FdbCore::Classify(BatchView* v, uint32_t n) {
  const bool fixed = io_[kIoFixed] != 0, autoCreate = io_[kIoAuto] != 0;
  // bridge-stage.ts classify creates only under these conditions (checked per miss below).
  const bool canDomain = autoCreate && io_[kIoCanDomain] != 0, canRemote = autoCreate && io_[kIoCanRemote] != 0;
  const int32_t maxPorts = io_[kIoMaxPorts];
  int32_t now = io_[kIoNow];
  bool started = io_[kIoStarted] != 0, anySlow = false;
  for (uint32_t i = 0; i < n; i++) {
    action_[i] = kActDrop;
    domainOf_[i] = -1;
    slow_[i] = 0;
    if (v->drop[i] != 0) continue;
    if (fixed) {
      stamp_[i] = now;
    } else {
      int32_t t = TicksOf(v->tsSec[i], v->tsNsec[i]);
      if (!started || Wrap(t, now) > 0) now = t;
      started = true;
      stamp_[i] = now;
    }
    if (!v->FrameInSlot(i)) {
      slow_[i] = 1;  // TS reads what it reads; C never leaves the slot
      anySlow = true;
      continue;
    }
    const uint8_t* p = v->data + v->offset[i];
    uint32_t len = v->length[i];
    if (len < 14) {
      DropFrame(v, i, -1, kDropRunt);
      continue;
    }
    int32_t srcHi = (p[6] << 8) | p[7];
    if ((p[6] & 1) != 0 || (srcHi == 0 && (p[8] | p[9] | p[10] | p[11]) == 0)) {
      DropFrame(v, i, -1, kDropInvalidSrc);
      continue;
    }
    int32_t dom, place;
    if ((v->flags[i] & VTEPD_FLAG_DECAPPED) != 0) {
      tagLen_[i] = 0;
      dom = byVni_.Get(v->vni[i], 0);
      if (dom < 0) {
        // autoCreate: TS creates it, in frame order with the other creations.
        if (canDomain) slow_[i] = 1, anySlow = true;
        else DropFrame(v, i, -1, kDropNoDomain);
        continue;
      }
      if ((uint32_t)dom >= stageDomains_) {
        slow_[i] = 1, anySlow = true;
        continue;
      }
      const uint32_t* ra = v->remoteAddr + ((size_t)i << 2);
      bool v6 = (v->flags[i] & VTEPD_FLAG_REMOTE_V6) != 0;
      int32_t r = RemoteIndex(ra[0], ra[1], ra[2], ra[3], v6);
      if (r < 0 || remotePos_.Get(dom, r) < 0) {
        if (canRemote) slow_[i] = 1, anySlow = true;
        else DropFrame(v, i, dom, kDropUnknownRemote);
        continue;
      }
      place = (r & kOutMask) | kRemote;
    } else {
      int32_t et = (p[12] << 8) | p[13], vlan = 0;
      if (et == 0x8100) {
        if (len < 18) {
          DropFrame(v, i, -1, kDropRunt);
          continue;
        }
        vlan = ((p[14] & 0x0f) << 8) | p[15];
      }
      tagLen_[i] = et == 0x8100 ? 4 : 0;
      int32_t port = v->inPort[i];
      dom = byPortVlan_.Get(port, vlan);
      if (dom < 0) {
        if (canDomain && port < maxPorts) slow_[i] = 1, anySlow = true;
        else DropFrame(v, i, -1, kDropNoDomain);
        continue;
      }
      if ((uint32_t)dom >= stageDomains_) {
        slow_[i] = 1, anySlow = true;
        continue;
      }
      place = (port & kOutMask) | kLocal;
    }
    srcPlace_[i] = place;
    domainOf_[i] = dom;
    int32_t* k = keys_ + ((size_t)i << 2);
    k[0] = srcHi;
    k[1] = (int32_t)(((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11]);
    k[2] = (p[0] << 8) | p[1];
    k[3] = (int32_t)(((uint32_t)p[2] << 24) | ((uint32_t)p[3] << 16) | ((uint32_t)p[4] << 8) | p[5]);
    uint32_t kh = (uint32_t)dom << 16;
    hashes_[i << 1] = (int32_t)MacHash(kh | (uint32_t)k[0], (uint32_t)k[1], s0_, s1_);
    if ((p[0] & 1) == 0) hashes_[(i << 1) + 1] = (int32_t)MacHash(kh | (uint32_t)k[2], (uint32_t)k[3], s0_, s1_);
  }
  io_[kIoNow] = now;
  io_[kIoStarted] = started ? 1 : 0;
  return anySlow;
}

// Pass 2 (BridgeStage.process second loop) from frame `from`: returns n when done, or the
// first frame whose learning needs the TS path (nothing of that frame has been done yet).
// Members are copied to locals first: the byte stores (action, drop) may alias anything,
// so the compiler would otherwise reload every member pointer after each of them.
uint32_t FdbCore::Decide(BatchView* v, uint32_t from, uint32_t n) {
  int32_t* const w = words_;
  const uint32_t wlen = wordsLen_;
  const int32_t* const ageing = ageing_;
  const double scale = scale_;
  uint8_t* const action = action_;
  int32_t* const domainOf = domainOf_;
  const int32_t *const srcPlace = srcPlace_, *const stamp = stamp_, *const keys = keys_, *const hashes = hashes_;
  double* const counters = counters_;
  const int32_t *const portStart = portStart_, *const floodPorts = floodPorts_, *const floodRemotes = floodRemotes_;
  int32_t* const outPort = v->outPort;
  uint16_t* const flags = v->flags;
  // Domains every array C indexes by domain covers.
  uint32_t nd = stageDomains_ < ageingLen_ ? stageDomains_ : ageingLen_;
  nd = nd < floodDomains_ ? nd : floodDomains_;
  uint32_t homes[2 * kTouchGroup];
  uint32_t touched = (uint32_t)io_[kIoTouched];
  uint32_t g = from, g0 = from;
  for (uint32_t i = from; i < n; i++) {
    if (i == g0) {
      // Home slots of the next group, loaded together (their misses overlap), then decided on.
      g = i;
      g0 = i + kTouchGroup < n ? i + kTouchGroup : n;
      for (uint32_t j = i; j < g0; j++) {
        if (domainOf[j] < 0) continue;
        uint32_t hs = (uint32_t)ToInt32((double)(uint32_t)hashes[j << 1] * scale) << 2;
        uint32_t hd = (keys[(j << 2) + 2] & 0x100) == 0 ? (uint32_t)ToInt32((double)(uint32_t)hashes[(j << 1) + 1] * scale) << 2 : hs;
        homes[2 * (j - g)] = hs;
        homes[2 * (j - g) + 1] = hd;
        if (hs < wlen) __builtin_prefetch(w + hs);
        if (hd < wlen) __builtin_prefetch(w + hd);
      }
    }
    const int32_t dom = domainOf[i];
    if (dom < 0) continue;
    if ((uint32_t)dom >= nd) return i;
    const int32_t place = srcPlace[i], t = stamp[i];
    const int32_t* k = keys + ((size_t)i << 2);
    const int32_t kh = (int32_t)(((uint32_t)dom << 16) | (uint32_t)k[0]);
    // Learn: only "known, live, same place" (refresh) and "static at this place" (nothing) are done here.
    int32_t b = ProbeWords(w, wlen, homes[2 * (i - g)], kh, k[1]);
    if (b < 0) return i;
    const int32_t m = w[b + 2];
    bool refresh = false;
    if ((m & kStatic) != 0) {
      if ((m & kPlaceMask) != place) return i;
    } else {
      if (Wrap(t, w[b + 3]) >= ageing[dom] || (m & kPlaceMask) != place) return i;
      refresh = true;
    }
    // Destination (group bit clear = unicast). Looked up before the refresh: the refresh
    // cannot change it (a destination equal to the source is live either way).
    int32_t dst = -1;
    if ((k[2] & 0x100) == 0) {
      int32_t kd = (int32_t)(((uint32_t)dom << 16) | (uint32_t)k[2]);
      int32_t bd = ProbeWords(w, wlen, homes[2 * (i - g) + 1], kd, k[3]);
      if (bd == -2) return i;
      if (bd >= 0) {
        int32_t md = w[bd + 2];
        dst = (md & kStatic) == 0 && Wrap(t, w[bd + 3]) >= ageing[dom] ? -1 : md & 0xffffff;
      }
    }
    touched ^= (uint32_t)m;
    if (refresh) w[b + 3] = t;
    double* ctr = counters + (size_t)dom * kNC;
    ctr[kCtrIn]++;
    if (dst >= 0) {
      if ((dst & kPlaceMask) == place) {
        DropFrame(v, i, dom, kDropSamePort);
      } else if ((dst & kRemote) != 0 && (place & kRemote) != 0) {
        DropFrame(v, i, dom, kDropRemoteToRemote);
      } else {
        action[i] = (dst & kRemote) != 0 ? kActRemote : kActLocal;
        outPort[i] = dst & kOutMask;
        ctr[kCtrUnicast]++;
      }
      continue;
    }
    // bridge-stage.ts floodCopies: split horizon.
    const int32_t* ports = floodPorts + portStart[dom];
    int32_t np = portStart[dom + 1] - portStart[dom], copies = np;
    if ((place & kLocal) != 0) {
      int32_t inPort = place & kOutMask;
      for (int32_t q = 0; q < np; q++) copies -= ports[q] == inPort;
      copies += floodRemotes[dom];
    }
    if (copies == 0) {
      DropFrame(v, i, dom, kDropNoFloodTarget);
      continue;
    }
    action[i] = kActFlood;
    outPort[i] = VTEPD_NONE;
    flags[i] |= VTEPD_FLAG_FLOOD;
    ctr[kCtrFlooded]++;
    ctr[kCtrFloodCopies] += copies;
  }
  io_[kIoTouched] = (int32_t)touched;
  return n;
}

FdbCore* FdbCore::From(const Napi::Value& v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kFdbCoreTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), "fdbLearnLookupBatch: core must be an FdbCore");
  return Napi::ObjectWrap<FdbCore>::Unwrap(v.As<Napi::Object>());
}

// fdbLearnLookupBatch(core, view, count, from = -1): from -1 runs pass 1 (classification) then
// pass 2 from frame 0 unless some frame needs TS classification (returns -1, those frames have
// slow[i] = 1); from >= 0 runs pass 2 from there. Pass 2 returns count when done, else the
// index of the frame TS must learn and decide (call again with that index + 1).
Napi::Value FdbCore::LearnLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FdbCore* core = From(info[0]);
  BatchView* v = BatchView::From(info[1], "fdbLearnLookupBatch: view");
  uint32_t n = v->CheckCount(info[2]);
  double from = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : -1;
  if (core->io_ == nullptr || core->byVni_.vals == nullptr || core->portStart_ == nullptr) {
    throw Napi::Error::New(env, "fdbLearnLookupBatch: FdbCore not bound (bindStage, bindMaps, bindFlood)");
  }
  if (n > core->frames_) throw Napi::RangeError::New(env, "fdbLearnLookupBatch: count exceeds the bound stage arrays");
  if (from < 0) {
    if (core->Classify(v, n)) return Napi::Number::New(env, -1);
    from = 0;
  }
  if (!(from <= n) || from != std::floor(from)) throw Napi::RangeError::New(env, "fdbLearnLookupBatch: from must be an integer in 0..count");
  return Napi::Number::New(env, core->Decide(v, (uint32_t)from, n));
}

void FdbCore::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("FdbCore", DefineClass(env, "FdbCore",
                                     {InstanceMethod("bindStage", &FdbCore::BindStage), InstanceMethod("bindMaps", &FdbCore::BindMaps),
                                      InstanceMethod("bindFlood", &FdbCore::BindFlood)}));
  exports.Set("fdbLearnLookupBatch", Napi::Function::New(env, &FdbCore::LearnLookupBatch, "fdbLearnLookupBatch"));
}

void InitFdb(Napi::Env env, Napi::Object exports) { FdbCore::Init(env, exports); }

}  // namespace vtepd

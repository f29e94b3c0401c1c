// Native Replicator (src/l2/native-replicate.ts): the copy loops of
// src/l2/replicate.ts in C, one call per output batch. Semantics are those of
// Replicator exactly (order of copies, split horizon, VLAN tag strip/insert,
// `lost`, metadata, resumable cursors, return values); the differential test
// test/l2/native-replicate.test.ts compares them call by call.
//
// The core keeps its OWN copy of the domains' flood membership (ports, tags,
// remotes, VNIs), rebuilt from flat JS arrays when BridgeDomains.version moves,
// so nothing JS does to those arrays later can make C read out of bounds. The
// BridgeStage's per-frame arrays are bound (held by strong references) and
// rebound when BridgeStage.grow() replaces them.
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "batch_view.h"
#include "common.h"
#include "stages.h"

namespace vtepd {

namespace {

// bridge-stage.ts Action, mac-store.ts MacFlag / OUT_MASK, through the generated contract.
enum { kActDrop = VTEPD_ACTION_DROP, kActLocal = VTEPD_ACTION_LOCAL, kActRemote = VTEPD_ACTION_REMOTE, kActFlood = VTEPD_ACTION_FLOOD };
constexpr int32_t kLocal = VTEPD_MAC_LOCAL, kRemote = VTEPD_MAC_REMOTE, kOutMask = VTEPD_MAC_OUT_MASK;

// Words of the `state` array shared with TS: the cursors, whether a batch was started,
// the output count after the call and the copies lost during it.
enum {
  kStLi = VTEPD_REPL_ST_LI, kStLk = VTEPD_REPL_ST_LK, kStRi = VTEPD_REPL_ST_RI, kStRk = VTEPD_REPL_ST_RK,
  kStOutCount = VTEPD_REPL_ST_OUT_COUNT, kStLost = VTEPD_REPL_ST_LOST, kStLen = VTEPD_REPL_ST_LEN,
};

const napi_type_tag kReplicateCoreTag = {0x7674657072706c63ULL, 0x6f72650000000001ULL};

template <typename T>
T* Bind(const Napi::Value& v, size_t* len, const char* what, Napi::ObjectReference* keep) {
  T* p = TypedData<T>(v, len, what);
  *keep = Napi::Persistent(v.As<Napi::Object>());
  return p;
}

// (domain, id) -> value, open addressing; what portTagOf / remotePosition answer in TS.
class PairTable {
 public:
  void Reset(size_t entries) {
    size_t cap = 16;
    while (cap < entries * 2) cap <<= 1;
    keys_.assign(cap, 0);
    vals_.assign(cap, -1);
    mask_ = cap - 1;
  }
  // First insert wins (BridgeDomains never lists a port / remote twice in a domain).
  void Put(int32_t dom, int32_t id, int32_t val) {
    uint64_t k = Key(dom, id);
    for (size_t i = Slot(k);; i = (i + 1) & mask_) {
      if (vals_[i] < 0) {
        keys_[i] = k;
        vals_[i] = val;
        return;
      }
      if (keys_[i] == k) return;
    }
  }
  int32_t Get(int32_t dom, int32_t id) const {
    uint64_t k = Key(dom, id);
    for (size_t i = Slot(k);; i = (i + 1) & mask_) {
      if (vals_[i] < 0) return -1;
      if (keys_[i] == k) return vals_[i];
    }
  }

 private:
  static uint64_t Key(int32_t dom, int32_t id) { return ((uint64_t)(uint32_t)dom << 32) | (uint32_t)id; }
  size_t Slot(uint64_t k) const {
    k *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(k >> 32 ^ k) & mask_;
  }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> vals_;  // -1 = free (tags and positions are >= 0)
  size_t mask_ = 0;
};

class ReplicateCore : public Napi::ObjectWrap<ReplicateCore> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit ReplicateCore(const Napi::CallbackInfo& info);
  static ReplicateCore* From(const Napi::Value& v);
  static Napi::Value Local(const Napi::CallbackInfo& info);
  static Napi::Value Remote(const Napi::CallbackInfo& info);

 private:
  Napi::Value BindStage(const Napi::CallbackInfo& info);
  Napi::Value SetMembership(const Napi::CallbackInfo& info);
  bool FillLocal(const BatchView* b, uint32_t n, BatchView* out, uint32_t* count);
  int32_t FillRemote(const BatchView* b, uint32_t n, BatchView* out, uint32_t* count);
  bool Copy(const BatchView* b, uint32_t i, BatchView* out, uint32_t* count, int32_t tag, int32_t outPort, int32_t vni);
  uint8_t Act(uint32_t i) const { return i < frames_ ? action_[i] : (uint8_t)kActDrop; }

  // Stage (bound)
  int32_t* state_ = nullptr;
  const uint8_t *action_ = nullptr, *tagLen_ = nullptr;
  const int32_t *domainOf_ = nullptr, *srcPlace_ = nullptr;
  uint32_t frames_ = 0;
  Napi::ObjectReference stageRefs_[5];
  // Membership (own copy): per domain d, ports/tags [portStart[d], portStart[d+1]), remotes [remoteStart[d], remoteStart[d+1]).
  uint32_t domains_ = 0;
  std::vector<int32_t> portStart_, ports_, tags_, remoteStart_, remotes_, vni_;
  PairTable portTag_, remotePos_;
  uint32_t lost_ = 0;
};

ReplicateCore::ReplicateCore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReplicateCore>(info) {
  Napi::Env env = info.Env();
  portStart_.assign(1, 0);
  remoteStart_.assign(1, 0);
  portTag_.Reset(0);
  remotePos_.Reset(0);
  napi_type_tag_object(env, info.This(), &kReplicateCoreTag);
}

ReplicateCore* ReplicateCore::From(const Napi::Value& v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kReplicateCoreTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), "core must be a ReplicateCore");
  return Napi::ObjectWrap<ReplicateCore>::Unwrap(v.As<Napi::Object>());
}

// bindStage(state, action, domainOf, srcPlace, tagLen): frames past the shortest array count as DROP.
Napi::Value ReplicateCore::BindStage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "bindStage(state, action, domainOf, srcPlace, tagLen)");
  size_t n[5];
  // Validate all before keeping any, so a failed bind leaves the old binding whole.
  TypedData<int32_t>(info[0], &n[0], "state");
  TypedData<uint8_t>(info[1], &n[1], "action");
  TypedData<int32_t>(info[2], &n[2], "domainOf");
  TypedData<int32_t>(info[3], &n[3], "srcPlace");
  TypedData<uint8_t>(info[4], &n[4], "tagLen");
  if (n[0] < kStLen) throw Napi::RangeError::New(env, "bindStage: state needs " + std::to_string(kStLen) + " words");
  state_ = Bind<int32_t>(info[0], &n[0], "state", &stageRefs_[0]);
  action_ = Bind<uint8_t>(info[1], &n[1], "action", &stageRefs_[1]);
  domainOf_ = Bind<int32_t>(info[2], &n[2], "domainOf", &stageRefs_[2]);
  srcPlace_ = Bind<int32_t>(info[3], &n[3], "srcPlace", &stageRefs_[3]);
  tagLen_ = Bind<uint8_t>(info[4], &n[4], "tagLen", &stageRefs_[4]);
  size_t f = n[1];
  for (int k = 2; k < 5; k++) f = n[k] < f ? n[k] : f;
  frames_ = (uint32_t)(f > 65536 ? 65536 : f);
  return env.Undefined();
}

// setMembership(portStart, ports, portTags, remoteStart, remotes, vni): copied, not kept.
Napi::Value ReplicateCore::SetMembership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6) throw Napi::TypeError::New(env, "setMembership(portStart, ports, portTags, remoteStart, remotes, vni)");
  size_t psl = 0, pl = 0, tl = 0, rsl = 0, rl = 0, vl = 0;
  const int32_t* ps = TypedData<int32_t>(info[0], &psl, "portStart");
  const int32_t* ports = TypedData<int32_t>(info[1], &pl, "ports");
  const int32_t* tags = TypedData<int32_t>(info[2], &tl, "portTags");
  const int32_t* rs = TypedData<int32_t>(info[3], &rsl, "remoteStart");
  const int32_t* remotes = TypedData<int32_t>(info[4], &rl, "remotes");
  const int32_t* vni = TypedData<int32_t>(info[5], &vl, "vni");
  if (psl == 0 || rsl != psl || vl + 1 < psl) throw Napi::RangeError::New(env, "setMembership: portStart, remoteStart and vni disagree on the domain count");
  size_t nd = psl - 1;
  if (nd > 1u << 24) throw Napi::RangeError::New(env, "setMembership: too many domains");
  if (ps[0] != 0 || rs[0] != 0) throw Napi::RangeError::New(env, "setMembership: starts must begin at 0");
  for (size_t d = 0; d < nd; d++) {
    if (ps[d] > ps[d + 1] || (size_t)ps[d + 1] > pl || (size_t)ps[d + 1] > tl) throw Napi::RangeError::New(env, "setMembership: bad portStart");
    if (rs[d] > rs[d + 1] || (size_t)rs[d + 1] > rl) throw Napi::RangeError::New(env, "setMembership: bad remoteStart");
  }
  for (size_t k = 0; k < (size_t)ps[nd]; k++) {
    // portTagOf answers -1 for "not a member": a negative tag would read as that.
    if (tags[k] < 0 || tags[k] > 4095) throw Napi::RangeError::New(env, "setMembership: a VLAN tag is outside 0..4095");
  }
  portStart_.assign(ps, ps + nd + 1);
  ports_.assign(ports, ports + ps[nd]);
  tags_.assign(tags, tags + ps[nd]);
  remoteStart_.assign(rs, rs + nd + 1);
  remotes_.assign(remotes, remotes + rs[nd]);
  vni_.assign(vni, vni + nd);
  domains_ = (uint32_t)nd;
  portTag_.Reset(ports_.size());
  remotePos_.Reset(remotes_.size());
  for (size_t d = 0; d < nd; d++) {
    for (int32_t k = ps[d]; k < ps[d + 1]; k++) portTag_.Put((int32_t)d, ports_[k], tags_[k]);
    for (int32_t k = rs[d]; k < rs[d + 1]; k++) remotePos_.Put((int32_t)d, remotes_[k], k - rs[d]);
  }
  return env.Undefined();
}

// replicate.ts Replicator.copy. False only when `out` is full.
inline bool ReplicateCore::Copy(const BatchView* b, uint32_t i, BatchView* out, uint32_t* count, int32_t tag, int32_t outPort, int32_t vni) {
  uint32_t j = *count;
  if (j >= out->capacity) return false;
  uint32_t inTag = tagLen_[i];
  uint32_t len = b->length[i];
  // A frame outside its slot, or too short for the bytes the copy reads, is not copied (TS would copy garbage).
  if (!b->FrameInSlot(i) || len < 12 + inTag || (inTag > 0 && len < 15)) {
    lost_++;
    return true;
  }
  uint32_t newLen = len - inTag + (tag > 0 ? 4 : 0);
  if (newLen > out->dataRoom) {
    lost_++;
    return true;
  }
  const uint8_t* s = b->data + b->offset[i];
  uint32_t start = j * out->slotSize + out->headroom;
  uint8_t* d = out->data + start;
  // memmove: a hostile caller may pass the input batch as the output.
  std::memmove(d, s, 12);
  uint8_t* p = d + 12;
  if (tag > 0) {
    uint8_t pcp = inTag > 0 ? (s[14] & 0xe0) : 0;  // keep the 802.1p priority
    p[0] = 0x81;
    p[1] = 0x00;
    p[2] = (uint8_t)(pcp | (tag >> 8));
    p[3] = (uint8_t)(tag & 0xff);
    p += 4;
  }
  std::memmove(p, s + 12 + inTag, len - 12 - inTag);
  out->offset[j] = start;
  out->length[j] = newLen;
  out->wireLength[j] = b->wireLength[i] - len + newLen;
  out->tsSec[j] = b->tsSec[i];
  out->tsNsec[j] = b->tsNsec[i];
  out->inPort[j] = b->inPort[i];
  // PacketBatch.resetMeta, then the copy's own fields.
  out->drop[j] = 0;
  out->l2[j] = 0;
  out->l3[j] = VTEPD_NONE;
  out->l4[j] = VTEPD_NONE;
  out->innerL2[j] = VTEPD_NONE;
  out->entropy[j] = 0;
  std::memset(out->remoteAddr + ((size_t)j << 2), 0, 16);
  out->outPort[j] = outPort;
  out->vni[j] = vni;
  out->flags[j] = b->flags[i] & (VTEPD_FLAG_FLOOD | VTEPD_FLAG_TRUNCATED);
  *count = j + 1;
  return true;
}

// replicate.ts Replicator.fillLocal, loop for loop.
bool ReplicateCore::FillLocal(const BatchView* b, uint32_t n, BatchView* out, uint32_t* count) {
  int32_t* st = state_;
  // Cursors come from JS: negative ones restart at 0 (TS would read undefined and skip; C must stay in bounds).
  uint32_t li = st[kStLi] < 0 ? 0 : (uint32_t)st[kStLi];
  int32_t lk = st[kStLk] < 0 ? 0 : st[kStLk];
  bool done = true;
  for (; li < n; li++, lk = 0) {
    uint32_t i = li;
    uint8_t act = Act(i);
    if (act == kActLocal) {
      if (lk > 0) continue;
      int32_t dom = domainOf_[i];
      int32_t port = b->outPort[i];
      int32_t tag = (uint32_t)dom < domains_ ? portTag_.Get(dom, port) : -1;
      if (tag < 0) {
        lost_++;
      } else if (!Copy(b, i, out, count, tag, port, VTEPD_NONE)) {
        done = false;
        break;
      }
      lk = 1;
    } else if (act == kActFlood) {
      int32_t dom = domainOf_[i];
      if ((uint32_t)dom >= domains_) continue;  // TS throws reading the ports of no domain
      int32_t base = portStart_[dom], np = portStart_[dom + 1] - base;
      int32_t src = srcPlace_[i];
      int32_t inPort = (src & kLocal) != 0 ? (src & kOutMask) : -1;
      for (; lk < np; lk++) {
        int32_t port = ports_[base + lk];
        if (port == inPort) continue;
        if (!Copy(b, i, out, count, tags_[base + lk], port, VTEPD_NONE)) {
          done = false;
          break;
        }
      }
      if (!done) break;
    }
  }
  st[kStLi] = (int32_t)li;
  st[kStLk] = lk;
  return done;
}

// replicate.ts Replicator.fillRemote, loop for loop.
int32_t ReplicateCore::FillRemote(const BatchView* b, uint32_t n, BatchView* out, uint32_t* count) {
  int32_t* st = state_;
  uint32_t ri = st[kStRi] < 0 ? 0 : (uint32_t)st[kStRi];
  int32_t rk = st[kStRk] < 0 ? 0 : st[kStRk];
  int32_t cur = -1;
  for (; ri < n; ri++, rk = 0) {
    uint32_t i = ri;
    uint8_t act = Act(i);
    if (act != kActRemote && act != kActFlood) continue;
    int32_t dom = domainOf_[i];
    bool known = (uint32_t)dom < domains_;
    int32_t nr = known ? remoteStart_[dom + 1] - remoteStart_[dom] : 0;
    // Flooding from a remote never goes to remotes (split horizon). (TS throws on a flood of no domain.)
    if (act == kActFlood && ((srcPlace_[i] & kRemote) != 0 || nr == 0)) continue;
    if (cur >= 0 && dom != cur) break;
    int32_t vni = known ? vni_[dom] : VTEPD_NONE;
    if (act == kActRemote) {
      if (rk > 0) continue;
      int32_t pos = known ? remotePos_.Get(dom, b->outPort[i]) : -1;
      if (pos < 0) lost_++;
      else if (!Copy(b, i, out, count, 0, pos, vni)) break;
      cur = dom;
      rk = 1;
    } else {
      bool full = false;
      for (; rk < nr; rk++) {
        if (!Copy(b, i, out, count, 0, rk, vni)) {
          full = true;
          break;
        }
        cur = dom;
      }
      if (full) break;
    }
  }
  st[kStRi] = (int32_t)ri;
  st[kStRk] = rk;
  return cur;
}

struct CallArgs {
  ReplicateCore* core;
  BatchView *in, *out;
  uint32_t n, count;
};

}  // namespace

// replicateLocal(core, inView, inCount, outView, outCount) -> done; replicateRemote(...) -> domain or -1.
// Cursors live in the bound `state`; the new output count and the copies lost are written there too.
static CallArgs Args(const Napi::CallbackInfo& info, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, std::string(name) + "(core, inView, inCount, outView, outCount)");
  CallArgs a;
  a.core = ReplicateCore::From(info[0]);
  a.in = BatchView::From(info[1], "inView");
  a.n = a.in->CheckCount(info[2]);
  a.out = BatchView::From(info[3], "outView");
  a.count = a.out->CheckCount(info[4]);
  return a;
}

Napi::Value ReplicateCore::Local(const Napi::CallbackInfo& info) {
  CallArgs a = Args(info, "replicateLocal");
  ReplicateCore* c = a.core;
  if (c->state_ == nullptr) throw Napi::Error::New(info.Env(), "replicateLocal: bindStage first");
  c->lost_ = 0;
  bool done = c->FillLocal(a.in, a.n, a.out, &a.count);
  c->state_[kStOutCount] = (int32_t)a.count;
  c->state_[kStLost] = (int32_t)c->lost_;
  return Napi::Boolean::New(info.Env(), done);
}

Napi::Value ReplicateCore::Remote(const Napi::CallbackInfo& info) {
  CallArgs a = Args(info, "replicateRemote");
  ReplicateCore* c = a.core;
  if (c->state_ == nullptr) throw Napi::Error::New(info.Env(), "replicateRemote: bindStage first");
  if (a.count >= a.out->capacity) throw Napi::RangeError::New(info.Env(), "fillRemote needs an output batch with room (drain it first)");
  c->lost_ = 0;
  int32_t dom = c->FillRemote(a.in, a.n, a.out, &a.count);
  c->state_[kStOutCount] = (int32_t)a.count;
  c->state_[kStLost] = (int32_t)c->lost_;
  return Napi::Number::New(info.Env(), dom);
}

void ReplicateCore::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("ReplicateCore", DefineClass(env, "ReplicateCore",
                                           {InstanceMethod("bindStage", &ReplicateCore::BindStage),
                                            InstanceMethod("setMembership", &ReplicateCore::SetMembership)}));
  exports.Set("replicateLocal", Napi::Function::New(env, &ReplicateCore::Local, "replicateLocal"));
  exports.Set("replicateRemote", Napi::Function::New(env, &ReplicateCore::Remote, "replicateRemote"));
}

void InitReplicate(Napi::Env env, Napi::Object exports) { ReplicateCore::Init(env, exports); }

}  // namespace vtepd

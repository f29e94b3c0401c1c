// FdbCore: the native learn/lookup/forward fast path of one BridgeStage
// (src/l2/native-bridge-stage.ts). It holds pointers to the arrays it shares
// with TypeScript: the MacTable's slot words and ageing times (bound once),
// the stage's per-frame and per-domain arrays (rebound when they grow), the
// BridgeDomains maps (rebound when a KeyPairMap grows) and a flat copy of the
// domains' flood membership (rebound when membership changes). Every bound
// array is held by a strong reference, so its backing store stays put.
#pragma once
#include <napi.h>

#include <cstdint>

#include "batch_view.h"

namespace vtepd {

class FdbCore : public Napi::ObjectWrap<FdbCore> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit FdbCore(const Napi::CallbackInfo& info);
  static FdbCore* From(const Napi::Value& v);
  static Napi::Value LearnLookupBatch(const Napi::CallbackInfo& info);

  // Words of the `io` array shared with TS: stage time (ticks) and whether it started,
  // time fixed for the batch, autoCreate, the sink of the touch loads, and (autoCreate)
  // whether a domain / a remote can still be created and the port bound: at a maximum
  // nothing is created for the rest of the batch, so C can count those misses itself.
  // (src/l2/contract.ts FDB_IO, through the generated contract.)
  enum {
    kIoNow = VTEPD_FDB_IO_NOW, kIoStarted = VTEPD_FDB_IO_STARTED, kIoFixed = VTEPD_FDB_IO_FIXED, kIoAuto = VTEPD_FDB_IO_AUTO,
    kIoTouched = VTEPD_FDB_IO_TOUCHED, kIoCanDomain = VTEPD_FDB_IO_CAN_DOMAIN, kIoCanRemote = VTEPD_FDB_IO_CAN_REMOTE,
    kIoMaxPorts = VTEPD_FDB_IO_MAX_PORTS, kIoLen = VTEPD_FDB_IO_LEN,
  };

 private:
  // A KeyPairMap (src/l2/key-map.ts) read in place: 2 key words and one value per slot, -1 = free.
  struct PairMap {
    const int32_t* keys = nullptr;
    const int32_t* vals = nullptr;
    uint32_t mask = 0;
    Napi::ObjectReference keysRef, valsRef;
    int32_t Get(int32_t a, int32_t b) const;
  };

  Napi::Value BindStage(const Napi::CallbackInfo& info);
  Napi::Value BindMaps(const Napi::CallbackInfo& info);
  Napi::Value BindFlood(const Napi::CallbackInfo& info);
  bool Classify(BatchView* v, uint32_t n);
  uint32_t Decide(BatchView* v, uint32_t from, uint32_t n);
  int32_t RemoteIndex(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, bool v6) const;
  void DropFrame(BatchView* v, uint32_t i, int32_t dom, int code);

  // MacTable
  int32_t* words_ = nullptr;
  const int32_t* ageing_ = nullptr;
  uint32_t wordsLen_ = 0, ageingLen_ = 0, s0_ = 0, s1_ = 0;
  double scale_ = 0;
  Napi::ObjectReference wordsRef_, ageingRef_;
  // Stage
  int32_t* io_ = nullptr;
  uint8_t *action_ = nullptr, *tagLen_ = nullptr, *slow_ = nullptr;
  int32_t *domainOf_ = nullptr, *srcPlace_ = nullptr, *stamp_ = nullptr, *keys_ = nullptr, *hashes_ = nullptr;
  double *counters_ = nullptr, *drops_ = nullptr, *dropsNoDomain_ = nullptr;
  uint32_t frames_ = 0, stageDomains_ = 0;
  Napi::ObjectReference stageRefs_[12];
  // BridgeDomains
  PairMap byVni_, byPortVlan_, remotePos_, byAddr_;
  const uint32_t* remoteAddr_ = nullptr;
  const uint8_t* remoteV6_ = nullptr;
  uint32_t remotes_ = 0;
  Napi::ObjectReference remoteAddrRef_, remoteV6Ref_;
  // Flood membership
  const int32_t *portStart_ = nullptr, *floodPorts_ = nullptr, *floodRemotes_ = nullptr;
  uint32_t floodDomains_ = 0;
  Napi::ObjectReference floodRefs_[3];
};

}  // namespace vtepd

// Native decap stage (src/tunnel/native-decap.ts): DecapStage.process of
// src/tunnel/decap.ts in C, frame for frame the same result (drop codes,
// metadata, counters). Built once from the resolved decap config; the
// per-batch call is vxlanDecapBatch / geneveDecapBatch / nvgreDecapBatch
// (core, view, count): one stage handles all three tunnel kinds, as the
// TypeScript one does, so the three names share one implementation.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "batch_view.h"

namespace vtepd {

class DecapCore : public Napi::ObjectWrap<DecapCore> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // new DecapCore(resolvedDecapConfig, counts: Uint32Array(VTEPD_COUNTS_LEN))
  explicit DecapCore(const Napi::CallbackInfo& info);
  static DecapCore* From(const Napi::Value& v, const char* what);
  static Napi::Value DecapBatch(const Napi::CallbackInfo& info);

  // counts_: the stage counts convention (contract.h VTEPD_COUNTS_*, extra =
  // non-tunnel frames passed); the batch call ADDS to it and TS drains it
  // (StageCounters.drain) after each call, so nothing is lost between calls.

 private:
  struct Level {
    size_t inner, end, src;
    uint32_t vni, entropy;
    int kind;  // TunnelKind of the outermost level, set as soon as it is recognised
    bool v6;
  };
  void Process(BatchView* v, uint32_t n);
  int ParseLevel(const uint8_t* d, size_t p0, size_t end, bool outer, Level* r) const;
  bool KnownOption(int32_t key) const;

  uint8_t portType_[65536];
  std::vector<uint32_t> vniKind_;  // 2 bits per VNI (tunnel-config.ts ResolvedDecap.vniKind); empty = accept every VNI
  std::vector<int32_t> geneveKnown_;
  bool nvgre_ = true, keepOther_ = false, verifyUdpCsum_ = false, zeroCsum6Rx_ = false, verifyIp4Csum_ = true, checkKind_ = false;
  int maxDepth_ = 1;
  uint32_t* counts_ = nullptr;
  Napi::ObjectReference countsRef_;
};

}  // namespace vtepd

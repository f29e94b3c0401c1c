// EncapCore: the native twin of src/tunnel/encap.ts (EncapStage.process).
// Built once from the config and templates TS resolved (so the two sides can
// never disagree on a header byte), it owns copies of everything it needs plus
// the IPv4 identification counter. vxlan/geneve/nvgreEncapBatch(core, view,
// count) run one batch; counts go into a Uint32Array TS handed over (the stage
// counts convention, contract.h VTEPD_COUNTS_*), which C adds to and TS drains.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "batch_view.h"

namespace vtepd {

class EncapCore : public Napi::ObjectWrap<EncapCore> {
 public:
  enum Type : uint8_t { kVxlan = 0, kGeneve = 1, kNvgre = 2 };

  static void Init(Napi::Env env, Napi::Object exports);
  explicit EncapCore(const Napi::CallbackInfo& info);
  // The EncapCore behind a JS argument; TypeError naming `what` otherwise.
  static EncapCore* From(const Napi::Value& v, const char* what);

  Type type() const { return type_; }
  // Encapsulates the alive frames among the first `count`; returns how many stay alive.
  uint32_t Process(Napi::Env env, BatchView& b, uint32_t count);

 private:
  template <bool kV6, bool kUdp>
  uint32_t Run(BatchView& b, uint32_t n, uint32_t* counts);

  Type type_ = kVxlan;
  bool v6_ = false, udpCsum_ = false, copyDscp_ = false, hashFlowId_ = false;
  uint32_t hdrLen_ = 0, ethLen_ = 0, ipOff_ = 0, l4Off_ = 0, tunOff_ = 0;
  uint32_t nRemotes_ = 0, mtu_ = 0, sportMin_ = 0, sportSpan_ = 0;
  int32_t vni_ = 0;
  uint16_t ipId_ = 0;  // last id used, 0 at start like EncapStage.ipId
  std::vector<uint8_t> tpl_;  // nRemotes_ * hdrLen_
  std::vector<uint64_t> ip4Sum_, udpSum_;
  uint32_t* counts_ = nullptr;  // bound once (batch_view.h: the pointer rule)
  Napi::ObjectReference countsRef_;
};

}  // namespace vtepd

#pragma once
#include <napi.h>

#include "common.h"

namespace vtepd {

// TAP device (/dev/net/tun, IFF_TAP|IFF_NO_PI, optional IFF_VNET_HDR): batched
// read until EAGAIN and batched write, each one N-API call per batch.
class Tap : public BurstPort<Tap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Tap(const Napi::CallbackInfo& info);
  ~Tap() override;
  void Release();

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SetUp(const Napi::CallbackInfo& info);

  unsigned vnetHdr_ = 0;
};

}  // namespace vtepd

#pragma once
#include <napi.h>

#include <string>

#include "poller.h"

namespace vtepd {

// TAP device (/dev/net/tun, IFF_TAP|IFF_NO_PI, optional IFF_VNET_HDR): batched
// read until EAGAIN and batched write, each one N-API call per batch.
class Tap : public Napi::ObjectWrap<Tap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Tap(const Napi::CallbackInfo& info);
  ~Tap() override;

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastTxErrno(const Napi::CallbackInfo& info);
  Napi::Value SetUp(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();

  int fd_ = -1;
  std::string ifname_;
  unsigned vnetHdr_ = 0;
  double oversize_ = 0;
  int lastTxErrno_ = 0;
  Poller poller_;
};

}  // namespace vtepd

#pragma once
#include <napi.h>
#include <sys/socket.h>

#include <vector>

#include "common.h"

namespace vtepd {

// AF_PACKET socket bound to one interface: TPACKET_V3 mmap RX ring, sendmmsg TX.
class AfPacket : public BurstPort<AfPacket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit AfPacket(const Napi::CallbackInfo& info);
  ~AfPacket() override;
  void Release();

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  int ifindex_ = 0;
  uint8_t* ring_ = nullptr;
  size_t ringLen_ = 0;
  unsigned blockSize_ = 0, blockCount_ = 0;
  // Read cursor: current block, frames left in it, next frame pointer.
  unsigned curBlock_ = 0;
  unsigned framesLeft_ = 0;
  uint8_t* nextFrame_ = nullptr;
  bool inBlock_ = false;
  double outgoingSkipped_ = 0;  // read (and reset) by stats(), like oversize_
  unsigned txWaitMs_ = 10;
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;
};

}  // namespace vtepd

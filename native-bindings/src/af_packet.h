#pragma once
#include <napi.h>
#include <sys/socket.h>
#include <vector>

#include "poller.h"

namespace vtepd {

// AF_PACKET socket bound to one interface: TPACKET_V3 mmap RX ring, sendmmsg TX.
class AfPacket : public Napi::ObjectWrap<AfPacket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit AfPacket(const Napi::CallbackInfo& info);
  ~AfPacket() override;

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastTxErrno(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  void Release();

  int fd_ = -1;
  int ifindex_ = 0;
  std::string ifname_;
  uint8_t* ring_ = nullptr;
  size_t ringLen_ = 0;
  unsigned blockSize_ = 0, blockCount_ = 0;
  // Read cursor: current block, frames left in it, next frame pointer.
  unsigned curBlock_ = 0;
  unsigned framesLeft_ = 0;
  uint8_t* nextFrame_ = nullptr;
  bool inBlock_ = false;
  // Counted here, read (and reset) by stats().
  double oversize_ = 0, outgoingSkipped_ = 0;
  int lastTxErrno_ = 0;
  unsigned txWaitMs_ = 10;
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;
  Poller poller_;
};

}  // namespace vtepd

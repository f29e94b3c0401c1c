#pragma once
#include <napi.h>
#include <sys/socket.h>

#include <vector>

#include "common.h"

namespace vtepd {

// AF_PACKET socket bound to one interface: TPACKET_V3 mmap RX ring, sendmmsg TX.
// With vnetHdr (PACKET_VNET_HDR) each frame carries a 10-byte virtio_net_hdr:
// written by the kernel in front of every RX frame, sent in front of every TX frame.
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
  template <bool kVnet>
  uint32_t Send(const TxBurstArgs& a);

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
  bool vnetHdr_ = false;
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;  // two per message with vnetHdr: header, frame
  std::vector<uint8_t> txHdrs_;     // vnetHdr: one 10-byte virtio_net_hdr per message
};

}  // namespace vtepd

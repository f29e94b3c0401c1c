#pragma once
#include <napi.h>

#include "common.h"
#include "packet_rx.h"
#include "packet_tx.h"

namespace vtepd {

// AF_PACKET port bound to one interface: an mmap RX ring (packet_rx.h: TPACKET_V2
// by default, V3 on request) and a TX ring or sendmmsg (packet_tx.h). With
// vnetHdr (PACKET_VNET_HDR) each frame carries a 10-byte virtio_net_hdr: written
// by the kernel in front of every RX frame, sent in front of every TX frame.
class AfPacket : public BurstPort<AfPacket> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit AfPacket(const Napi::CallbackInfo& info);
  ~AfPacket() override;
  void Release();
  // The AfPacket behind a JS value (type-tagged), or nullptr.
  static AfPacket* From(const Napi::Value& v);
  // Busy polling (busy_poll.cc): does the RX ring hold a frame right now?
  bool RxReady() const { return rx_.Ready(); }

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  int ifindex_ = 0;
  bool vnetHdr_ = false;
  PacketRxRing rx_;
  PacketTx tx_;
  RxCounts rxCounts_;
  TxCounts txSeen_;           // tx_.counts at the last stats() call
  double sockDropsSeen_ = 0;  // SO_MEMINFO drops at the last stats() call
  double txRefused_ = 0;      // frames refused since the last stats() call
};

}  // namespace vtepd

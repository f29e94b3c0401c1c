// AF_PACKET transmit, one syscall per batch or fewer, in two ways:
//
//  - ring (default): a TPACKET_V2 TX ring on a socket of its own (bound to the
//    interface with protocol 0, so it never receives). Frames are copied into
//    ring slots marked SEND_REQUEST and one send(MSG_DONTWAIT) hands all of them
//    to the kernel. A slot is free again when the kernel frees that skb.
//    Every slot starts with a virtio_net_hdr (PACKET_VNET_HDR on the ring
//    socket) whose hdr_len makes the kernel copy a non-GSO frame whole into the
//    skb's linear head. Without it the skb holds the ring page as a zero-copy
//    fragment, and a veth or bridge that hands it to another socket or
//    namespace must copy it into a freshly allocated page (skb_copy_ubufs):
//    21 % of the core in a perf profile of native decap at 60 B, gone with the
//    linear copy.
//  - sendmmsg: one sendmmsg per batch (up to 1024 frames) on the receive socket.
//
// Nothing is lost silently: a frame the kernel refuses (bad length, bad virtio
// header, MTU) is counted as refused with its errno; when the ring or the socket
// buffer stays full for `waitMs`, the rest of the burst is counted as "full".
// Frames the kernel would refuse are checked here first, because a refused
// ring frame (TP_STATUS_WRONG_FORMAT) stops the ring: should one slip through
// anyway, the ring socket is rebuilt and the frames behind it are sent again.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace vtepd {

struct TxOptions {
  bool ring = true;
  unsigned frameSize = 2048, frameCount = 512;  // ring geometry
  bool vnet = false, qdiscBypass = false;
  unsigned sndbuf = 0, waitMs = 10;
  int ifindex = 0;
  std::string ifname;
};

struct TxOut {
  uint32_t full = 0;     // frames not sent: ring / socket buffer full after waiting
  uint32_t refused = 0;  // frames not sent: refused (errno in err)
  int err = 0;
};

struct TxCounts {
  double syscalls = 0;    // send/sendmmsg calls
  double fullEvents = 0;  // bursts that found the ring or socket buffer full (and waited)
  double rebuilds = 0;    // TX ring rebuilt after the kernel refused a ring frame
};

class PacketTx {
 public:
  ~PacketTx() { Close(); }
  // ring: opens its own socket; sendmmsg: sends on rxFd. 0 or errno (`*sys` names the call).
  int Open(const TxOptions& o, int rxFd, const char** sys);
  void Close();
  bool ring() const { return ringFd_ >= 0; }
  uint32_t Send(const BurstArgs& a, TxOut& out);
  TxCounts counts;

 private:
  int OpenRing(const char** sys);
  void CloseRing();
  int Rebuild();
  int Check(const BatchView& b, uint32_t i, const uint16_t* vnet);
  uint32_t SendRing(const BurstArgs& a, TxOut& out);
  template <bool kVnet>
  uint32_t SendMmsg(const BurstArgs& a, TxOut& out);
  uint8_t* Slot(unsigned k) const;
  bool WaitSlot(unsigned k);

  TxOptions o_;
  int sendFd_ = -1;  // sendmmsg mode: the receive socket (not owned)
  int ringFd_ = -1;
  int netnsFd_ = -1;  // the namespace the port was opened in: a rebuilt ring socket must be made there
  uint8_t* ring_ = nullptr;
  size_t ringLen_ = 0;
  unsigned framesPerBlock_ = 0, blockSize_ = 0;
  unsigned head_ = 0;
  unsigned mtu_ = 1500;
  bool mtuFresh_ = false;  // re-read at most once per burst when a frame looks too long,
  uint64_t mtuReadNs_ = 0;  // and every 100 ms in any case
  std::vector<uint32_t> idx_;  // batch index of each slot queued by the current kick
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;  // two per message with vnet: header, frame
  std::vector<uint8_t> hdrs_;       // vnet: one 10-byte virtio_net_hdr per message
};

}  // namespace vtepd

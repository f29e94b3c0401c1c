// The AF_PACKET receive ring, read into a BatchView.
//
// TPACKET_V2 (default): one slot per frame, handed to userspace the moment the
// kernel has written it, and the socket is woken for each frame. An idle port
// therefore reads a lone frame at once (no timer), and a busy one reads whatever
// accumulated since its last pass: per-frame wake-ups when light, batches when
// heavy, and draining never waits for anything to fill.
//
// TPACKET_V3: frames packed into blocks, a block handed over when full or after
// tp_retire_blk_tov ms. Denser in memory, fewer wake-ups, but a lone frame waits
// up to the timeout: kept for capture-style use, not the default.
#pragma once
#include <cstddef>
#include <cstdint>

#include "common.h"

namespace vtepd {

struct RxRingGeometry {
  unsigned version;  // 2 or 3 (TPACKET_V2 / TPACKET_V3)
  unsigned blockSize, blockCount, frameSize, retireMs;
};

struct RxCounts {
  double oversize = 0;  // larger than the slot's dataRoom, truncated by the ring, or shorter than Ethernet
  double outgoing = 0;  // our own / outgoing frames (pkttype OUTGOING) skipped
};

class PacketRxRing {
 public:
  ~PacketRxRing() { Unmap(); }
  // Sets PACKET_VERSION (+ PACKET_VNET_HDR) and PACKET_RX_RING and maps the ring;
  // returns 0 or the errno, `*sys` naming the failing call.
  int Setup(int fd, const RxRingGeometry& g, bool vnetHdr, const char** sys);
  void Unmap();
  bool mapped() const { return ring_ != nullptr; }
  // True when Read() would find a frame (one memory read: for busy polling).
  bool Ready() const;
  unsigned version() const { return g_.version; }
  // Copies up to a.n ready frames into slots a.start..; returns how many.
  uint32_t Read(const BurstArgs& a, RxCounts& c);

 private:
  uint32_t ReadFrames(const BurstArgs& a, RxCounts& c);
  uint32_t ReadBlocks(const BurstArgs& a, RxCounts& c);

  RxRingGeometry g_{};
  bool vnet_ = false;
  uint8_t* ring_ = nullptr;
  size_t len_ = 0;
  unsigned framesPerBlock_ = 0, frameCount_ = 0;
  unsigned head_ = 0;  // V2: next frame index
  // V3 cursor: current block, frames left in it, next frame.
  unsigned curBlock_ = 0, framesLeft_ = 0;
  uint8_t* nextFrame_ = nullptr;
  bool inBlock_ = false;
};

}  // namespace vtepd

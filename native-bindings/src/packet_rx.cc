// AF_PACKET RX ring (see packet_rx.h for why V2 is the default).
#include "packet_rx.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace vtepd {

constexpr size_t kVnetHdrLen = 10;  // struct virtio_net_hdr
constexpr uint8_t kVnetNeedsCsum = 1;

int PacketRxRing::Setup(int fd, const RxRingGeometry& g, bool vnetHdr, const char** sys) {
  g_ = g;
  vnet_ = vnetHdr;
  int v = g.version == 3 ? TPACKET_V3 : TPACKET_V2;
  *sys = "setsockopt(PACKET_VERSION)";
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) return errno;
  if (vnetHdr) {
    v = 1;  // must precede the ring: the kernel refuses it (EBUSY) once a ring exists
    *sys = "setsockopt(PACKET_VNET_HDR)";
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &v, sizeof v) < 0) return errno;
  }
  framesPerBlock_ = g.blockSize / g.frameSize;
  frameCount_ = framesPerBlock_ * g.blockCount;
  *sys = "setsockopt(PACKET_RX_RING)";
  if (g.version == 3) {
    struct tpacket_req3 req;
    std::memset(&req, 0, sizeof req);
    req.tp_block_size = g.blockSize;
    req.tp_block_nr = g.blockCount;
    req.tp_frame_size = g.frameSize;
    req.tp_frame_nr = frameCount_;
    req.tp_retire_blk_tov = g.retireMs;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return errno;
  } else {
    struct tpacket_req req;
    req.tp_block_size = g.blockSize;
    req.tp_block_nr = g.blockCount;
    req.tp_frame_size = g.frameSize;
    req.tp_frame_nr = frameCount_;
    if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) return errno;
  }
  len_ = (size_t)g.blockSize * g.blockCount;
  *sys = "mmap";
  void* m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (m == MAP_FAILED) m = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return errno;
  ring_ = static_cast<uint8_t*>(m);
  return 0;
}

void PacketRxRing::Unmap() {
  if (ring_ != nullptr) munmap(ring_, len_);
  ring_ = nullptr;
}

namespace {
// One ring frame as both ring versions describe it.
struct RingFrame {
  const uint8_t* pkt;
  uint32_t snap, len, status, sec, nsec;
  uint16_t vlanTci, vlanTpid;
  uint8_t pkttype;
};

// Copies one frame into slot i (VLAN tag put back, vnet fields to vnet[i*6..]);
// false when it is skipped and counted instead.
inline bool CopyFrame(const RingFrame& f, BatchView& b, uint32_t i, uint16_t* vnet, RxCounts& c) {
  if (f.pkttype == PACKET_OUTGOING) {
    c.outgoing++;
    return false;
  }
  bool vlan = (f.status & TP_STATUS_VLAN_VALID) != 0;
  uint32_t need = f.snap + (vlan ? 4 : 0);
  // A frame the ring truncated (snap < len) is never forwarded cut short; GSO frames
  // (vnet) report the super-frame's length and are refused the same way.
  if (need > b.dataRoom || f.snap < 14 || f.snap < f.len) {
    c.oversize++;
    return false;
  }
  uint32_t at = i * b.slotSize + b.headroom;
  uint8_t* dst = b.data + at;
  if (vlan) {
    // The kernel moved the 802.1Q tag into metadata (VLAN rx offload): put it back
    // so the frame's bytes are what was on the wire.
    uint16_t tpid = (f.status & TP_STATUS_VLAN_TPID_VALID) && f.vlanTpid ? f.vlanTpid : ETH_P_8021Q;
    std::memcpy(dst, f.pkt, 12);
    dst[12] = tpid >> 8;
    dst[13] = tpid & 0xff;
    dst[14] = f.vlanTci >> 8;
    dst[15] = f.vlanTci & 0xff;
    std::memcpy(dst + 16, f.pkt + 12, f.snap - 12);
  } else {
    std::memcpy(dst, f.pkt, f.snap);
  }
  if (vnet != nullptr) {
    // The kernel wrote the header just in front of the frame (tpacket_rcv reserves room for it).
    const uint8_t* vh = f.pkt - kVnetHdrLen;
    uint16_t* v = vnet + (size_t)i * 6;
    v[0] = vh[0];
    v[1] = vh[1];
    std::memcpy(v + 2, vh + 2, 8);
    if (vlan) {
      // Offsets were taken without the tag we put back: move them past it.
      if (v[0] & kVnetNeedsCsum) v[4] += 4;
      if (v[2] != 0) v[2] += 4;
    }
  }
  b.offset[i] = at;
  b.length[i] = need;
  b.wireLength[i] = f.len + (vlan ? 4 : 0);
  b.tsSec[i] = f.sec;
  b.tsNsec[i] = f.nsec;
  return true;
}
}  // namespace

bool PacketRxRing::Ready() const {
  if (ring_ == nullptr) return false;
  if (g_.version == 3) {
    if (inBlock_ && framesLeft_ > 0) return true;
    auto* bd = reinterpret_cast<const struct tpacket_block_desc*>(ring_ + (size_t)curBlock_ * g_.blockSize);
    return (__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
  }
  const uint8_t* fr = ring_ + (size_t)(head_ / framesPerBlock_) * g_.blockSize + (size_t)(head_ % framesPerBlock_) * g_.frameSize;
  return (__atomic_load_n(&reinterpret_cast<const struct tpacket2_hdr*>(fr)->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

uint32_t PacketRxRing::Read(const BurstArgs& a, RxCounts& c) {
  return g_.version == 3 ? ReadBlocks(a, c) : ReadFrames(a, c);
}

// V2: walk frames from head_ while they belong to us; each is returned to the
// kernel as soon as it is copied.
uint32_t PacketRxRing::ReadFrames(const BurstArgs& a, RxCounts& c) {
  BatchView& b = *a.b;
  uint16_t* vnet = vnet_ ? a.vnet : nullptr;
  uint32_t got = 0;
  constexpr size_t kSllOff = TPACKET_ALIGN(sizeof(struct tpacket2_hdr));
  while (got < a.n) {
    uint8_t* fr = ring_ + (size_t)(head_ / framesPerBlock_) * g_.blockSize + (size_t)(head_ % framesPerBlock_) * g_.frameSize;
    auto* h = reinterpret_cast<struct tpacket2_hdr*>(fr);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
    if ((st & TP_STATUS_USER) == 0) break;
    const auto* sll = reinterpret_cast<const struct sockaddr_ll*>(fr + kSllOff);
    RingFrame f{fr + h->tp_mac, h->tp_snaplen, h->tp_len, st, h->tp_sec, h->tp_nsec, h->tp_vlan_tci, h->tp_vlan_tpid, sll->sll_pkttype};
    if (CopyFrame(f, b, a.start + got, vnet, c)) got++;
    __atomic_store_n(&h->tp_status, (uint32_t)TP_STATUS_KERNEL, __ATOMIC_RELEASE);  // hand the slot back
    head_ = head_ + 1 == frameCount_ ? 0 : head_ + 1;
  }
  return got;
}

// V3: walk retired blocks; a block goes back to the kernel when all its frames are
// copied, and reading resumes mid-block when the batch is full.
uint32_t PacketRxRing::ReadBlocks(const BurstArgs& a, RxCounts& c) {
  BatchView& b = *a.b;
  uint16_t* vnet = vnet_ ? a.vnet : nullptr;
  uint32_t got = 0;
  constexpr size_t kSllOff = TPACKET_ALIGN(sizeof(struct tpacket3_hdr));
  while (got < a.n) {
    auto* bd = reinterpret_cast<struct tpacket_block_desc*>(ring_ + (size_t)curBlock_ * g_.blockSize);
    if (!inBlock_) {
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      framesLeft_ = bd->hdr.bh1.num_pkts;
      nextFrame_ = reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
      inBlock_ = true;
    }
    while (framesLeft_ > 0 && got < a.n) {
      auto* h = reinterpret_cast<struct tpacket3_hdr*>(nextFrame_);
      const auto* sll = reinterpret_cast<const struct sockaddr_ll*>(nextFrame_ + kSllOff);
      RingFrame f{nextFrame_ + h->tp_mac, h->tp_snaplen, h->tp_len, h->tp_status, h->tp_sec, h->tp_nsec, (uint16_t)h->hv1.tp_vlan_tci, (uint16_t)h->hv1.tp_vlan_tpid, sll->sll_pkttype};
      if (CopyFrame(f, b, a.start + got, vnet, c)) got++;
      framesLeft_--;
      nextFrame_ += h->tp_next_offset;
    }
    if (framesLeft_ == 0) {
      __atomic_store_n(&bd->hdr.bh1.block_status, (uint32_t)TP_STATUS_KERNEL, __ATOMIC_RELEASE);  // hand the block back
      inBlock_ = false;
      curBlock_ = (curBlock_ + 1) % g_.blockCount;
    }
  }
  return got;
}

}  // namespace vtepd

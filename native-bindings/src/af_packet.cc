// AF_PACKET port: TPACKET_V3 RX ring (blocks retired by the kernel when full or on
// timeout) copied into a PacketBatch slab in one call; TX by sendmmsg, one call per
// batch. See README.md for the option list. Optional PACKET_VNET_HDR: the
// virtio_net_hdr fields travel in a side array (6 u16 per slot, as for TAP), so a
// frame can leave with its checksum to be completed by the kernel (NEEDS_CSUM).
#include "af_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace vtepd {

// struct virtio_net_hdr (linux/virtio_net.h is not C++-clean), host byte order:
// AF_PACKET uses the legacy virtio layout, little-endian on the hosts we run on.
constexpr size_t kVnetHdrLen = 10;
constexpr uint8_t kVnetNeedsCsum = 1;
static_assert(kVnetHdrLen == 1 + 1 + 2 * 4, "virtio_net_hdr: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset");
static const uint8_t kZeroVnetHdr[kVnetHdrLen] = {};

static void VnetToWire(const uint16_t* v, uint8_t* h) {
  h[0] = (uint8_t)v[0];
  h[1] = (uint8_t)v[1];
  std::memcpy(h + 2, v + 2, 8);  // hdr_len, gso_size, csum_start, csum_offset: host-order u16s
}

static unsigned OptU(const Napi::Object& o, const char* k, unsigned dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}
static bool OptB(const Napi::Object& o, const char* k, bool dflt) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

void AfPacket::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "AfPacket",
                                 Methods({InstanceMethod("rxBurst", &AfPacket::RxBurst),
                                          InstanceMethod("txBurst", &AfPacket::TxBurst),
                                          InstanceMethod("stats", &AfPacket::Stats),
                                          InstanceAccessor("fd", &AfPacket::GetFd, nullptr)}));
  exports.Set("AfPacket", f);
}

AfPacket::AfPacket(const Napi::CallbackInfo& info) : BurstPort<AfPacket>(info, "AF_PACKET port") {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "AfPacket(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value nameV = o.Get("interface");
  if (!nameV.IsString()) throw Napi::TypeError::New(env, "options.interface must be a string");
  ifname_ = nameV.As<Napi::String>().Utf8Value();
  if (ifname_.empty() || ifname_.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name must be 1..15 characters");
  blockSize_ = OptU(o, "blockSize", 1u << 18);
  blockCount_ = OptU(o, "blockCount", 16);
  unsigned frameSize = OptU(o, "frameSize", 2048);
  unsigned timeoutMs = OptU(o, "blockTimeoutMs", 2);
  txWaitMs_ = OptU(o, "txWaitMs", 10);
  long page = sysconf(_SC_PAGESIZE);
  if (blockSize_ < (unsigned)page || (blockSize_ & (blockSize_ - 1)) != 0)
    throw Napi::RangeError::New(env, "blockSize must be a power of two >= the page size");
  if (frameSize < TPACKET_ALIGNMENT || frameSize % TPACKET_ALIGNMENT != 0 || frameSize > blockSize_)
    throw Napi::RangeError::New(env, "frameSize must be a multiple of 16 and <= blockSize");
  if (blockCount_ < 1 || blockCount_ > 4096) throw Napi::RangeError::New(env, "blockCount must be 1..4096");

  ifindex_ = (int)if_nametoindex(ifname_.c_str());
  if (ifindex_ == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "AF_PACKET open", ifname_);

  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // protocol 0: no traffic before bind
  if (fd_ < 0) ThrowErrno(env, errno, "socket", "AF_PACKET socket on '" + ifname_ + "'", ifname_);
  auto fail = [&](const char* sys, const std::string& what) {
    int e = errno;
    Release();
    ThrowErrno(env, e, sys, what, ifname_);
  };
  if (!OptB(o, "allowDown", false)) {
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd_, SIOCGIFFLAGS, &ifr) < 0) fail("ioctl", "SIOCGIFFLAGS");
    if (!(ifr.ifr_flags & IFF_UP)) {
      errno = ENETDOWN;
      fail("open", "AF_PACKET open");
    }
  }
  int v = TPACKET_V3;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) fail("setsockopt", "PACKET_VERSION");
  vnetHdr_ = OptB(o, "vnetHdr", false);
  if (vnetHdr_) {
    v = 1;  // must precede the ring: the kernel refuses it (EBUSY) once a ring exists
    if (setsockopt(fd_, SOL_PACKET, PACKET_VNET_HDR, &v, sizeof v) < 0) fail("setsockopt", "PACKET_VNET_HDR");
  }
  if (OptB(o, "ignoreOutgoing", true)) {
    v = 1;  // do not see our own (or anyone's) transmitted frames; pkttype check below is the fallback
    setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &v, sizeof v);
  }
  if (OptB(o, "qdiscBypass", false)) {
    v = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v) < 0) fail("setsockopt", "PACKET_QDISC_BYPASS");
  }
  unsigned sndbuf = OptU(o, "sndbuf", 0);
  if (sndbuf > 0) {
    v = (int)sndbuf;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  struct tpacket_req3 req;
  std::memset(&req, 0, sizeof req);
  req.tp_block_size = blockSize_;
  req.tp_block_nr = blockCount_;
  req.tp_frame_size = frameSize;
  req.tp_frame_nr = (blockSize_ / frameSize) * blockCount_;
  req.tp_retire_blk_tov = timeoutMs;
  req.tp_feature_req_word = 0;
  if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) fail("setsockopt", "PACKET_RX_RING");
  ringLen_ = (size_t)blockSize_ * blockCount_;
  void* m = mmap(nullptr, ringLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd_, 0);
  if (m == MAP_FAILED) m = mmap(nullptr, ringLen_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (m == MAP_FAILED) fail("mmap", "mmap RX ring");
  ring_ = static_cast<uint8_t*>(m);

  struct sockaddr_ll sll;
  std::memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex_;
  if (bind(fd_, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) < 0) fail("bind", "bind to '" + ifname_ + "'");
  if (OptB(o, "promiscuous", true)) {
    struct packet_mreq mr;
    std::memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = ifindex_;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd_, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) fail("setsockopt", "PACKET_MR_PROMISC");
  }
  Napi::Value fg = o.Get("fanoutGroup");
  if (fg.IsNumber()) {
    unsigned mode = OptU(o, "fanoutMode", PACKET_FANOUT_HASH);
    int arg = (int)((fg.As<Napi::Number>().Uint32Value() & 0xffff) | (mode << 16));
    if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) fail("setsockopt", "PACKET_FANOUT");
  }
  // Discard the counters accumulated before the ring existed.
  struct tpacket_stats_v3 st;
  socklen_t sl = sizeof st;
  getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  msgs_.resize(1024);
  iovs_.resize(vnetHdr_ ? 2048 : 1024);
  if (vnetHdr_) txHdrs_.resize(1024 * kVnetHdrLen);
  Value().Set("ifindex", Napi::Number::New(env, ifindex_));
  Value().Set("interface", Napi::String::New(env, ifname_));
  Value().Set("vnetHdr", Napi::Boolean::New(env, vnetHdr_));
}

AfPacket::~AfPacket() { Release(); }

void AfPacket::Release() {
  poller_.Stop();
  if (ring_ != nullptr) munmap(ring_, ringLen_);
  ring_ = nullptr;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

// rxBurst(data, offset, length, wireLength, tsSec, tsNsec, start, max, slotSize, headroom, dataRoom[, vnet]) -> n
// Copies up to `max` ready frames into slots start.. start+max-1; returns how many.
// With vnetHdr and a vnet array, slot i's virtio_net_hdr fields go to vnet[i*6..]:
// flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
Napi::Value AfPacket::RxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ring_ == nullptr) throw ClosedError(env);
  RxBurstArgs a = RxBurstArgsFrom(info, vnetHdr_);
  uint16_t* vnet = a.vnet;  // nullptr unless vnetHdr_
  uint8_t* data = a.data;
  uint32_t *off = a.off, *len = a.len, *wire = a.wire, *tsNsec = a.tsNsec;
  double* tsSec = a.tsSec;
  uint32_t start = a.start, max = a.max, slotSize = a.slotSize, headroom = a.headroom, dataRoom = a.dataRoom;

  uint32_t got = 0;
  while (got < max) {
    if (!inBlock_) {
      auto* bd = reinterpret_cast<struct tpacket_block_desc*>(ring_ + (size_t)curBlock_ * blockSize_);
      if ((__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      framesLeft_ = bd->hdr.bh1.num_pkts;
      nextFrame_ = reinterpret_cast<uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
      inBlock_ = true;
    }
    while (framesLeft_ > 0 && got < max) {
      auto* h = reinterpret_cast<struct tpacket3_hdr*>(nextFrame_);
      const uint8_t* pkt = nextFrame_ + h->tp_mac;
      auto* sll = reinterpret_cast<struct sockaddr_ll*>(nextFrame_ + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
      uint32_t snap = h->tp_snaplen;
      bool vlan = (h->tp_status & TP_STATUS_VLAN_VALID) != 0;
      uint32_t need = snap + (vlan ? 4 : 0);
      if (sll->sll_pkttype == PACKET_OUTGOING) {
        outgoingSkipped_++;
      } else if (need > dataRoom || snap < 14) {
        oversize_++;
      } else {
        uint32_t i = start + got;
        uint8_t* dst = data + (size_t)i * slotSize + headroom;
        if (vlan) {
          // The kernel moved the 802.1Q tag into metadata (VLAN rx offload): put it back
          // so the frame's bytes are what was on the wire.
          uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) && h->hv1.tp_vlan_tpid ? h->hv1.tp_vlan_tpid : ETH_P_8021Q;
          std::memcpy(dst, pkt, 12);
          dst[12] = tpid >> 8;
          dst[13] = tpid & 0xff;
          dst[14] = h->hv1.tp_vlan_tci >> 8;
          dst[15] = h->hv1.tp_vlan_tci & 0xff;
          std::memcpy(dst + 16, pkt + 12, snap - 12);
        } else {
          std::memcpy(dst, pkt, snap);
        }
        if (vnet != nullptr) {
          // The kernel wrote the header just in front of the frame (tpacket_rcv reserves room for it).
          const uint8_t* vh = pkt - kVnetHdrLen;
          uint16_t* f = vnet + (size_t)i * 6;
          f[0] = vh[0];
          f[1] = vh[1];
          std::memcpy(f + 2, vh + 2, 8);
          if (vlan) {
            // Offsets were taken without the tag we put back: move them past it.
            if (f[0] & kVnetNeedsCsum) f[4] += 4;
            if (f[2] != 0) f[2] += 4;
          }
        }
        off[i] = (uint32_t)((size_t)i * slotSize + headroom);
        len[i] = need;
        wire[i] = h->tp_len + (vlan ? 4 : 0);
        tsSec[i] = h->tp_sec;
        tsNsec[i] = h->tp_nsec;
        got++;
      }
      framesLeft_--;
      nextFrame_ += h->tp_next_offset;
    }
    if (framesLeft_ == 0) {
      auto* bd = reinterpret_cast<struct tpacket_block_desc*>(ring_ + (size_t)curBlock_ * blockSize_);
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);  // hand the block back
      inBlock_ = false;
      curBlock_ = (curBlock_ + 1) % blockCount_;
    }
  }
  return Napi::Number::New(env, got);
}

// txBurst(data, offset, length, drop, start, count[, vnet]) -> frames sent (alive ones only).
// With vnetHdr each frame is sent behind a virtio_net_hdr made from vnet[i*6..] (same
// layout as rxBurst's), or an all-zero one (no offload asked) when vnet is absent.
Napi::Value AfPacket::TxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw ClosedError(env);
  const TxBurstArgs a = TxBurstArgsFrom(info, vnetHdr_);
  return Napi::Number::New(env, vnetHdr_ ? Send<true>(a) : Send<false>(a));
}

template <bool kVnet>
uint32_t AfPacket::Send(const TxBurstArgs& a) {
  uint32_t sent = 0;
  uint32_t i = a.start, end = a.start + a.count;
  while (i < end) {
    unsigned k = 0;
    for (; i < end && k < msgs_.size(); i++) {
      if (a.drop[i] != 0) continue;
      if ((uint64_t)a.off[i] + a.len[i] > a.dataLen) continue;  // lying metadata: skip, never read past the slab
      std::memset(&msgs_[k], 0, sizeof(struct mmsghdr));
      if (kVnet) {
        struct iovec* io = &iovs_[2 * k];
        if (a.vnet != nullptr) {
          uint8_t* h = &txHdrs_[k * kVnetHdrLen];
          VnetToWire(a.vnet + (size_t)i * 6, h);
          io[0].iov_base = h;
        } else {
          io[0].iov_base = const_cast<uint8_t*>(kZeroVnetHdr);  // only read by the kernel
        }
        io[0].iov_len = kVnetHdrLen;
        io[1].iov_base = a.data + a.off[i];
        io[1].iov_len = a.len[i];
        msgs_[k].msg_hdr.msg_iov = io;
        msgs_[k].msg_hdr.msg_iovlen = 2;
      } else {
        iovs_[k].iov_base = a.data + a.off[i];
        iovs_[k].iov_len = a.len[i];
        msgs_[k].msg_hdr.msg_iov = &iovs_[k];
        msgs_[k].msg_hdr.msg_iovlen = 1;
      }
      k++;
    }
    unsigned done = 0, refused = 0;  // refused: vnet frames the kernel rejected (EINVAL), skipped
    while (done < k) {
      int r = sendmmsg(fd_, &msgs_[done], k - done, MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        continue;
      }
      int e = errno;
      if ((e == EAGAIN || e == ENOBUFS) && txWaitMs_ > 0) {
        // Socket buffer full: wait briefly for room (backpressure), then give up and report.
        struct pollfd p = {fd_, POLLOUT, 0};
        if (poll(&p, 1, (int)txWaitMs_) > 0) continue;
      }
      if (e == EINTR) continue;
      if (kVnet && e == EINVAL) {
        // The kernel refused this frame's header (offsets beyond the frame, unknown GSO type):
        // drop that one frame, not the rest of the batch.
        lastTxErrno_ = e;
        done++;
        refused++;
        continue;
      }
      lastTxErrno_ = e;
      sent += done - refused;
      return sent;
    }
    sent += done - refused;
  }
  return sent;
}

// PACKET_STATISTICS is reset by each read, so these are deltas since the last call.
Napi::Value AfPacket::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  struct tpacket_stats_v3 st;
  std::memset(&st, 0, sizeof st);
  socklen_t sl = sizeof st;
  if (fd_ >= 0 && getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0)
    ThrowErrno(env, errno, "getsockopt", "PACKET_STATISTICS", ifname_);
  r.Set("packets", Napi::Number::New(env, st.tp_packets));
  r.Set("drops", Napi::Number::New(env, st.tp_drops));
  r.Set("freezeQueue", Napi::Number::New(env, st.tp_freeze_q_cnt));
  r.Set("oversize", Napi::Number::New(env, oversize_));
  r.Set("outgoing", Napi::Number::New(env, outgoingSkipped_));
  oversize_ = 0;
  outgoingSkipped_ = 0;
  return r;
}

Napi::Value AfPacket::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

}  // namespace vtepd

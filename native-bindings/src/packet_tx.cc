// AF_PACKET transmit: TX ring or sendmmsg (see packet_tx.h).
#include "packet_tx.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

namespace vtepd {

constexpr size_t kVnetHdrLen = 10;  // struct virtio_net_hdr (legacy layout, host byte order)
constexpr uint16_t kVnetNeedsCsum = 1;
static const uint8_t kZeroVnetHdr[kVnetHdrLen] = {};
// Non-GSO frames up to this size are copied whole into the skb's linear head (virtio_net_hdr
// hdr_len, see SendRing); the rest of a longer frame stays in ring pages.
constexpr uint16_t kLinearMax = 2048;
constexpr uint64_t kMtuRefreshNs = 100 * 1000000ull;
// Where a V2 TX frame's data starts in its slot (no PACKET_TX_HAS_OFF): TPACKET2_HDRLEN - sizeof(sockaddr_ll).
constexpr size_t kTxDataOff = TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
constexpr uint32_t kBusy = TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING | TP_STATUS_WRONG_FORMAT;  // free = none (timestamp bits may be set)
constexpr unsigned kRingBlock = 1u << 16;

static void VnetToWire(const uint16_t* v, uint8_t* h) {
  h[0] = (uint8_t)v[0];
  h[1] = (uint8_t)v[1];
  std::memcpy(h + 2, v + 2, 8);  // hdr_len, gso_size, csum_start, csum_offset: host-order u16s
}

static uint64_t NowNs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void Pause() {
  struct timespec t = {0, 20000};  // 20 µs: lets the receiver (softirq, the peer's reader) free slots
  nanosleep(&t, nullptr);
}

static unsigned ReadMtu(int fd, const std::string& ifname, unsigned dflt) {
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  return ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : dflt;
}

int PacketTx::Open(const TxOptions& o, int rxFd, const char** sys) {
  o_ = o;
  sendFd_ = rxFd;
  mtu_ = ReadMtu(rxFd, o.ifname, 1500);
  // sendmmsg state is kept in ring mode too: it is the fallback should a ring rebuild fail.
  msgs_.resize(1024);
  iovs_.resize(o.vnet ? 2048 : 1024);
  if (o.vnet) hdrs_.resize(1024 * kVnetHdrLen);
  if (!o.ring) return 0;
  netnsFd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  return OpenRing(sys);
}

// A new ring socket in the port's own namespace (the thread may be elsewhere by now).
int PacketTx::Rebuild() {
  CloseRing();
  int here = netnsFd_ >= 0 ? open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
  if (netnsFd_ >= 0 && (here < 0 || setns(netnsFd_, CLONE_NEWNET) < 0)) {
    int e = errno;
    if (here >= 0) close(here);
    return e;
  }
  const char* sys;
  int e = OpenRing(&sys);
  if (here >= 0) {
    setns(here, CLONE_NEWNET);  // back where we were; cannot fail for a namespace we were just in
    close(here);
  }
  return e;
}

int PacketTx::OpenRing(const char** sys) {
  unsigned fs = (o_.frameSize + TPACKET_ALIGNMENT - 1) & ~(TPACKET_ALIGNMENT - 1);
  blockSize_ = kRingBlock;
  while (blockSize_ < fs) blockSize_ <<= 1;
  framesPerBlock_ = blockSize_ / fs;
  unsigned blocks = (o_.frameCount + framesPerBlock_ - 1) / framesPerBlock_;
  o_.frameSize = fs;
  o_.frameCount = blocks * framesPerBlock_;
  idx_.assign(o_.frameCount, 0);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // protocol 0: never receives
  auto fail = [&](const char* s) {
    int e = errno;
    *sys = s;
    if (fd >= 0) close(fd);
    return e;
  };
  if (fd < 0) return fail("socket");
  int v = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) return fail("setsockopt(PACKET_VERSION)");
  v = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &v, sizeof v) < 0) return fail("setsockopt(PACKET_VNET_HDR)");
  if (o_.qdiscBypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v) < 0) return fail("setsockopt(PACKET_QDISC_BYPASS)");
  if (o_.sndbuf > 0) {
    v = (int)o_.sndbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  struct tpacket_req req = {blockSize_, blocks, fs, o_.frameCount};
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) return fail("setsockopt(PACKET_TX_RING)");
  size_t len = (size_t)blockSize_ * blocks;
  void* m = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return fail("mmap");
  struct sockaddr_ll sll;
  std::memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0;
  sll.sll_ifindex = o_.ifindex;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) < 0) {
    int e = errno;
    munmap(m, len);
    close(fd);
    *sys = "bind";
    return e;
  }
  ringFd_ = fd;
  ring_ = static_cast<uint8_t*>(m);
  ringLen_ = len;
  head_ = 0;
  return 0;
}

void PacketTx::CloseRing() {
  // Frames still in flight keep their pages (the kernel took page references).
  if (ring_ != nullptr) munmap(ring_, ringLen_);
  ring_ = nullptr;
  if (ringFd_ >= 0) close(ringFd_);
  ringFd_ = -1;
}

void PacketTx::Close() {
  CloseRing();
  if (netnsFd_ >= 0) close(netnsFd_);
  netnsFd_ = -1;
  sendFd_ = -1;
}

uint8_t* PacketTx::Slot(unsigned k) const {
  return ring_ + (size_t)(k / framesPerBlock_) * blockSize_ + (size_t)(k % framesPerBlock_) * o_.frameSize;
}

static uint32_t Status(uint8_t* slot) {
  return __atomic_load_n(&reinterpret_cast<struct tpacket2_hdr*>(slot)->tp_status, __ATOMIC_ACQUIRE);
}
static void SetStatus(uint8_t* slot, uint32_t s) {
  __atomic_store_n(&reinterpret_cast<struct tpacket2_hdr*>(slot)->tp_status, s, __ATOMIC_RELEASE);
}

// Wait up to waitMs for slot k to be freed (its skb destroyed). poll() cannot tell:
// a packet socket reports POLLOUT whenever its send buffer has room.
bool PacketTx::WaitSlot(unsigned k) {
  if ((Status(Slot(k)) & kBusy) == 0) return true;
  if (o_.waitMs == 0) return false;
  uint64_t deadline = NowNs() + (uint64_t)o_.waitMs * 1000000ull;
  do {
    Pause();
    if ((Status(Slot(k)) & kBusy) == 0) return true;
  } while (NowNs() < deadline);
  return false;
}

// 0 when the kernel will take frame i, else the errno it would refuse it with.
int PacketTx::Check(const BatchView& b, uint32_t i, const uint16_t* vnet) {
  if (!b.FrameInSlot(i)) return EFAULT;  // lying metadata: never read outside the slot
  uint32_t len = b.length[i];
  if (len < ETH_HLEN) return EINVAL;
  if (ringFd_ >= 0 && len + kVnetHdrLen > o_.frameSize - kTxDataOff) return EMSGSIZE;
  if (o_.vnet && vnet != nullptr) {
    const uint16_t* v = vnet + (size_t)i * 6;
    if ((v[0] & kVnetNeedsCsum) && (uint32_t)v[4] + v[5] + 2 > len) return EINVAL;
    if (v[2] > len) return EINVAL;
    if (v[1] != 0) return 0;  // GSO: may exceed the MTU; the kernel checks the rest
  }
  const uint8_t* f = b.data + b.offset[i];
  uint32_t lim = mtu_ + ETH_HLEN + (f[12] == 0x81 && f[13] == 0x00 ? 4 : 0);
  if (len > lim) {
    if (mtuFresh_) return EMSGSIZE;
    mtuFresh_ = true;  // the MTU may have grown since we read it
    mtu_ = ReadMtu(sendFd_, o_.ifname, mtu_);
    return Check(b, i, vnet);
  }
  return 0;
}

uint32_t PacketTx::Send(const BurstArgs& a, TxOut& out) {
  mtuFresh_ = false;
  if (ringFd_ >= 0) {
    // The ring socket's virtio_net_hdr turns off the kernel's own MTU check (a GSO frame
    // may be longer), so Check() is the only one: a lowered MTU is seen within kMtuRefreshNs.
    // sendmmsg needs no refresh: the kernel still checks there.
    uint64_t now = NowNs();
    if (now - mtuReadNs_ >= kMtuRefreshNs) {
      mtu_ = ReadMtu(sendFd_, o_.ifname, mtu_);
      mtuReadNs_ = now;
    }
    return SendRing(a, out);
  }
  return o_.vnet ? SendMmsg<true>(a, out) : SendMmsg<false>(a, out);
}

uint32_t PacketTx::SendRing(const BurstArgs& a, TxOut& out) {
  const BatchView& b = *a.b;
  const uint32_t end = a.start + a.n;
  const size_t dataOff = kTxDataOff + kVnetHdrLen;  // every ring frame starts with a virtio_net_hdr
  const unsigned nslots = o_.frameCount;
  uint32_t sent = 0, i = a.start;
  while (i < end) {
    // Fill: copy frames into free slots, each marked SEND_REQUEST.
    const unsigned first = head_;
    unsigned k = 0;
    for (; i < end && k < nslots; i++) {
      if (b.drop[i] != 0) continue;
      int bad = Check(b, i, a.vnet);
      if (bad != 0) {
        out.refused++;
        out.err = bad;
        continue;
      }
      uint8_t* slot = Slot(head_);
      if ((Status(slot) & kBusy) != 0) {
        if (k > 0) break;  // hand over what is queued first
        counts.fullEvents++;
        if (!WaitSlot(head_)) {
          out.full += AliveIn(b, i, end);
          return sent;
        }
      }
      uint8_t* h = slot + kTxDataOff;
      if (o_.vnet && a.vnet != nullptr) VnetToWire(a.vnet + (size_t)i * 6, h);
      else std::memcpy(h, kZeroVnetHdr, kVnetHdrLen);
      if (h[1] == 0) {  // no GSO: the kernel copies hdr_len bytes into the skb head (see packet_tx.h)
        uint16_t hl = b.length[i] < kLinearMax ? (uint16_t)b.length[i] : kLinearMax;
        std::memcpy(h + 2, &hl, 2);
      }
      std::memcpy(slot + dataOff, b.data + b.offset[i], b.length[i]);
      reinterpret_cast<struct tpacket2_hdr*>(slot)->tp_len = b.length[i] + (uint32_t)(dataOff - kTxDataOff);
      SetStatus(slot, TP_STATUS_SEND_REQUEST);
      idx_[k++] = i;
      head_ = head_ + 1 == nslots ? 0 : head_ + 1;
    }
    if (k == 0) break;
    // Kick: one send() hands over all k frames; repeated while the socket buffer is full.
    unsigned t = 0;
    int e = 0;
    uint64_t deadline = 0;
    for (;;) {
      ssize_t r = send(ringFd_, nullptr, 0, MSG_DONTWAIT);
      counts.syscalls++;
      e = r < 0 ? errno : 0;
      while (t < k && (Status(Slot((first + t) % nslots)) & (TP_STATUS_SEND_REQUEST | TP_STATUS_WRONG_FORMAT)) == 0) t++;
      if (t == k || Status(Slot((first + t) % nslots)) == TP_STATUS_WRONG_FORMAT) break;
      if (e == EINTR) continue;
      if (e != 0 && e != EAGAIN && e != ENOBUFS) break;  // not congestion: an error such as ENETDOWN
      uint64_t now = NowNs();
      if (deadline == 0) {
        counts.fullEvents++;
        deadline = now + (uint64_t)o_.waitMs * 1000000ull;
      }
      if (now >= deadline) break;
      Pause();
    }
    sent += t;
    if (t == k) continue;
    uint8_t* stuck = Slot((first + t) % nslots);
    if (Status(stuck) == TP_STATUS_WRONG_FORMAT) {
      // Refused by the kernel after all. Its ring head stays on this slot, so the ring
      // is rebuilt and the frames queued behind it go again.
      out.refused++;
      out.err = e != 0 ? e : EINVAL;
      counts.rebuilds++;
      if (t + 1 < k) i = idx_[t + 1];  // before Rebuild(), which resets idx_
      int re = Rebuild();
      if (re != 0) out.err = re;  // from now on: sendmmsg on the receive socket
      if (re != 0) return sent + (o_.vnet ? SendMmsg<true>({a.b, i, end - i, a.vnet}, out) : SendMmsg<false>({a.b, i, end - i, a.vnet}, out));
      continue;
    }
    // Not taken (still full after waiting, or an error): take the slots back and count them.
    for (unsigned j = t; j < k; j++) SetStatus(Slot((first + j) % nslots), TP_STATUS_AVAILABLE);
    head_ = (first + t) % nslots;
    uint32_t lost = (k - t) + AliveIn(b, i, end);
    if (e == 0 || e == EAGAIN || e == ENOBUFS) {
      out.full += lost;
    } else {
      out.refused += lost;
      out.err = e;
    }
    return sent;
  }
  return sent;
}

template <bool kVnet>
uint32_t PacketTx::SendMmsg(const BurstArgs& a, TxOut& out) {
  const BatchView& b = *a.b;
  uint32_t sent = 0;
  uint32_t i = a.start, end = a.start + a.n;
  while (i < end) {
    unsigned k = 0;
    for (; i < end && k < msgs_.size(); i++) {
      if (b.drop[i] != 0) continue;
      int bad = Check(b, i, a.vnet);
      if (bad != 0) {
        out.refused++;
        out.err = bad;
        continue;
      }
      std::memset(&msgs_[k], 0, sizeof(struct mmsghdr));
      uint8_t* frame = b.data + b.offset[i];
      if (kVnet) {
        struct iovec* io = &iovs_[2 * k];
        if (a.vnet != nullptr) {
          uint8_t* h = &hdrs_[k * kVnetHdrLen];
          VnetToWire(a.vnet + (size_t)i * 6, h);
          io[0].iov_base = h;
        } else {
          io[0].iov_base = const_cast<uint8_t*>(kZeroVnetHdr);  // only read by the kernel
        }
        io[0].iov_len = kVnetHdrLen;
        io[1].iov_base = frame;
        io[1].iov_len = b.length[i];
        msgs_[k].msg_hdr.msg_iov = io;
        msgs_[k].msg_hdr.msg_iovlen = 2;
      } else {
        iovs_[k].iov_base = frame;
        iovs_[k].iov_len = b.length[i];
        msgs_[k].msg_hdr.msg_iov = &iovs_[k];
        msgs_[k].msg_hdr.msg_iovlen = 1;
      }
      k++;
    }
    unsigned done = 0;
    bool waited = false;
    while (done < k) {
      int r = sendmmsg(sendFd_, &msgs_[done], k - done, MSG_DONTWAIT);
      counts.syscalls++;
      if (r > 0) {
        done += r;
        sent += r;
        continue;
      }
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == ENOBUFS) {
        // Socket buffer full: wait once for room (backpressure), then count the rest as full.
        if (!waited) {
          counts.fullEvents++;
          waited = true;
        }
        struct pollfd p = {sendFd_, POLLOUT, 0};
        if (o_.waitMs > 0 && poll(&p, 1, (int)o_.waitMs) > 0) continue;
        out.full += (k - done) + AliveIn(b, i, end);
        return sent;
      }
      if (e == EINVAL || e == EMSGSIZE) {
        // The kernel refused this one frame (header it does not accept): skip it, not the batch.
        out.refused++;
        out.err = e;
        done++;
        continue;
      }
      out.refused += (k - done) + AliveIn(b, i, end);
      out.err = e;
      return sent;
    }
  }
  return sent;
}

template uint32_t PacketTx::SendMmsg<true>(const BurstArgs&, TxOut&);
template uint32_t PacketTx::SendMmsg<false>(const BurstArgs&, TxOut&);

}  // namespace vtepd

// TAP port. A device we create is non-persistent: the kernel removes it when the
// last fd closes, so close() (or process exit) cleans up. An existing persistent
// device is attached to and left in place.
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

namespace vtepd {

// struct virtio_net_hdr (linux/virtio_net.h is not C++-clean: it has a member named `class`).
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};

void Tap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Tap",
                                 Methods({InstanceMethod("rxBurst", &Tap::RxBurst), InstanceMethod("txBurst", &Tap::TxBurst),
                                          InstanceMethod("stats", &Tap::Stats), InstanceMethod("setUp", &Tap::SetUp)}));
  exports.Set("Tap", f);
}

static void IfFlags(Napi::Env env, const std::string& name, bool up, int mtu) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) ThrowErrno(env, errno, "socket", "interface control socket", name);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
      int e = errno;
      close(s);
      ThrowErrno(env, e, "ioctl", "SIOCSIFMTU on '" + name + "'", name);
    }
  }
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
      (ifr.ifr_flags = up ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP), ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
    int e = errno;
    close(s);
    ThrowErrno(env, e, "ioctl", "SIOCSIFFLAGS on '" + name + "'", name);
  }
  close(s);
}

Tap::Tap(const Napi::CallbackInfo& info) : BurstPort<Tap>(info, "TAP") {
  Napi::Env env = info.Env();
  Napi::Object o = info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  Napi::Value nameV = o.Get("name");
  std::string want = nameV.IsString() ? nameV.As<Napi::String>().Utf8Value() : "";
  if (want.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "TAP name must be at most 15 characters");
  Napi::Value vh = o.Get("vnetHdr");
  vnetHdr_ = vh.IsNumber() ? vh.As<Napi::Number>().Uint32Value() : 0;
  if (vnetHdr_ != 0 && vnetHdr_ != 10 && vnetHdr_ != 12) throw Napi::RangeError::New(env, "vnetHdr must be 0, 10 or 12");
  bool existed = !want.empty() && if_nametoindex(want.c_str()) != 0;

  fd_ = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) ThrowErrno(env, errno, "open", "open /dev/net/tun", want);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnetHdr_ ? IFF_VNET_HDR : 0);
  if (!want.empty()) std::strncpy(ifr.ifr_name, want.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd_, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    Release();
    std::string what = existed ? "attach TAP '" + want + "' (is it a TAP device with matching flags?)" : "create TAP '" + want + "'";
    ThrowErrno(env, e, "ioctl", what, want);
  }
  ifname_ = ifr.ifr_name;
  try {
    if (vnetHdr_) {
      int sz = (int)vnetHdr_;
      if (ioctl(fd_, TUNSETVNETHDRSZ, &sz) < 0) ThrowErrno(env, errno, "ioctl", "TUNSETVNETHDRSZ", ifname_);
      Napi::Value offl = o.Get("offloads");  // TUN_F_CSUM | TUN_F_TSO4 | ...: lets the kernel hand us partial csum/GSO
      if (offl.IsNumber() && ioctl(fd_, TUNSETOFFLOAD, offl.As<Napi::Number>().Uint32Value()) < 0)
        ThrowErrno(env, errno, "ioctl", "TUNSETOFFLOAD", ifname_);
    }
    Napi::Value pers = o.Get("persist");
    if (pers.IsBoolean() && ioctl(fd_, TUNSETPERSIST, pers.As<Napi::Boolean>().Value() ? 1 : 0) < 0)
      ThrowErrno(env, errno, "ioctl", "TUNSETPERSIST", ifname_);
    Napi::Value mtuV = o.Get("mtu");
    Napi::Value upV = o.Get("up");
    bool up = upV.IsBoolean() && upV.As<Napi::Boolean>().Value();
    int mtu = mtuV.IsNumber() ? mtuV.As<Napi::Number>().Int32Value() : 0;
    if (up || mtu > 0) IfFlags(env, ifname_, up, mtu);
  } catch (...) {
    Release();
    throw;
  }
  Value().Set("interface", Napi::String::New(env, ifname_));
  Value().Set("ifindex", Napi::Number::New(env, if_nametoindex(ifname_.c_str())));
  Value().Set("created", Napi::Boolean::New(env, !existed));
  Value().Set("vnetHdr", Napi::Number::New(env, vnetHdr_));
}

Tap::~Tap() { Release(); }

void Tap::Release() {
  poller_.Stop();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

// rxBurst(view, start, max[, vnet: Uint16Array]) -> frames read into slots start..
// Reads until EAGAIN or `max`. With a vnet header, its 6 fields go to vnet[i*6..]:
// flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
Napi::Value Tap::RxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw ClosedError(env);
  const BurstArgs a = RxBurstArgsFrom(info, true);
  BatchView& b = *a.b;
  uint16_t* vnet = a.vnet;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);  // tun has no per-frame timestamp: one per burst
  uint8_t hdr[12];
  uint32_t got = 0;
  while (got < a.n) {
    uint32_t i = a.start + got;
    uint32_t at = i * b.slotSize + b.headroom;
    uint8_t* dst = b.data + at;
    struct iovec iov[2] = {{hdr, vnetHdr_}, {dst, b.dataRoom}};
    ssize_t r = vnetHdr_ ? readv(fd_, iov, 2) : read(fd_, dst, b.dataRoom);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EFAULT || errno == EMSGSIZE) {  // frame larger than the slot
        oversize_++;
        continue;
      }
      ThrowErrno(env, errno, "read", "read TAP '" + ifname_ + "'", ifname_);
    }
    ssize_t flen = r - (ssize_t)vnetHdr_;
    if (flen < 14 || (size_t)flen > b.dataRoom) {
      oversize_++;
      continue;
    }
    b.offset[i] = at;
    b.length[i] = (uint32_t)flen;
    b.wireLength[i] = (uint32_t)flen;
    b.tsSec[i] = (double)now.tv_sec;
    b.tsNsec[i] = (uint32_t)now.tv_nsec;
    if (vnet) {
      struct virtio_net_hdr vh;
      std::memcpy(&vh, hdr, sizeof vh);
      uint16_t* v = vnet + (size_t)i * 6;
      v[0] = vh.flags;
      v[1] = vh.gso_type;
      v[2] = vh.hdr_len;
      v[3] = vh.gso_size;
      v[4] = vh.csum_start;
      v[5] = vh.csum_offset;
    }
    got++;
  }
  return Napi::Number::New(env, got);
}

// txBurst(view, start, count[, vnet]) -> frames written (alive ones). Frames whose
// offset/length leave their slot are refused (counted by the caller as tx errors).
Napi::Value Tap::TxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw ClosedError(env);
  const BurstArgs a = TxBurstArgsFrom(info, true);
  const BatchView& b = *a.b;
  txFullFrames_ = 0;
  uint32_t sent = 0;
  uint8_t hdr[12];
  for (uint32_t i = a.start; i < a.start + a.n; i++) {
    if (b.drop[i] != 0) continue;
    if (!b.FrameInSlot(i)) {
      lastTxErrno_ = EINVAL;
      continue;
    }
    std::memset(hdr, 0, sizeof hdr);
    if (a.vnet) {
      struct virtio_net_hdr vh;
      const uint16_t* v = a.vnet + (size_t)i * 6;
      vh.flags = (uint8_t)v[0];
      vh.gso_type = (uint8_t)v[1];
      vh.hdr_len = v[2];
      vh.gso_size = v[3];
      vh.csum_start = v[4];
      vh.csum_offset = v[5];
      std::memcpy(hdr, &vh, sizeof vh);
    }
    uint8_t* frame = b.data + b.offset[i];
    struct iovec iov[2] = {{hdr, vnetHdr_}, {frame, b.length[i]}};
    ssize_t r = vnetHdr_ ? writev(fd_, iov, 2) : write(fd_, frame, b.length[i]);
    if (r < 0) {
      if (errno == EINTR) {
        i--;
        continue;
      }
      lastTxErrno_ = errno;  // EAGAIN: tun queue full (txqueuelen); others: device gone/down
      if (errno == EAGAIN) {
        txFullEvents_++;
        txFullFrames_ += AliveIn(b, i, a.start + a.n);  // the rest of the burst: queue full, not sent
        break;
      }
      if (errno == EIO || errno == ENODEV || errno == EBADFD) break;
      continue;  // EINVAL etc.: this frame is bad, try the next
    }
    sent++;
  }
  return Napi::Number::New(env, sent);
}

Napi::Value Tap::Stats(const Napi::CallbackInfo& info) {
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("oversize", Napi::Number::New(info.Env(), oversize_));
  r.Set("txFullEvents", Napi::Number::New(info.Env(), txFullEvents_));
  oversize_ = 0;
  txFullEvents_ = 0;
  return r;
}

Napi::Value Tap::SetUp(const Napi::CallbackInfo& info) {
  bool up = info.Length() == 0 || info[0].ToBoolean().Value();
  IfFlags(info.Env(), ifname_, up, 0);
  return info.Env().Undefined();
}

}  // namespace vtepd

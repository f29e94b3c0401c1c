// AF_XDP port: see af_xdp.h. Options and counters are listed in ../README.md.
#include "af_xdp.h"

#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "batch_view.h"
#include "errors.h"
#include "xdp_iface.h"
#include "xsk_program.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
// Frames one copy-mode sendto() may send (Linux 6.17+; 32 before, fixed).
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif

namespace vtepd {

static uint32_t OptU(const Napi::Object& o, const char* k, uint32_t dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}
static bool Pow2(uint32_t x) { return x != 0 && (x & (x - 1)) == 0; }

void AfXdp::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("AfXdp", DefineClass(env, "AfXdp", Methods({InstanceMethod("rxBurst", &AfXdp::RxBurst),
                                                          InstanceMethod("txBurst", &AfXdp::TxBurst),
                                                          InstanceMethod("stats", &AfXdp::Stats),
                                                          InstanceAccessor("fd", &AfXdp::GetFd, nullptr)})));
}

// new AfXdp({interface, queue, program, frameSize, frameCount, rxSize, txSize, fillSize, compSize, bindMode, needWakeup})
AfXdp::AfXdp(const Napi::CallbackInfo& info) : BurstPort<AfXdp>(info, "AF_XDP port") {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "AfXdp(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  XskProgram* prog = XskProgram::From(o.Get("program"));
  if (!o.Get("interface").IsString()) throw Napi::TypeError::New(env, "options.interface must be a string");
  ifname_ = o.Get("interface").As<Napi::String>().Utf8Value();
  ifindex_ = (int)if_nametoindex(ifname_.c_str());
  if (ifindex_ == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "AF_XDP open", ifname_);
  if (ifindex_ != prog->ifindex() || ifname_ != prog->interfaceName() || !prog->attached())
    throw Napi::Error::New(env, "AF_XDP on '" + ifname_ + "': options.program is not attached to this interface");
  queue_ = OptU(o, "queue", 0);
  std::string how;
  uint32_t queues = XskQueueCount(ifname_, &how);
  if (queue_ >= queues) {
    Napi::Error e = Napi::RangeError::New(env, "AF_XDP on '" + ifname_ + "': queue " + std::to_string(queue_) + " is out of range: the interface has " +
                                                   std::to_string(queues) + " queue(s) an AF_XDP socket can bind (" + how + ")");
    e.Set("code", Napi::String::New(env, "EINVAL"));
    throw e;
  }
  frameSize_ = OptU(o, "frameSize", 2048);
  uint32_t rxSize = OptU(o, "rxSize", 2048), txSize = OptU(o, "txSize", 2048);
  uint32_t fillSize = OptU(o, "fillSize", 2048), compSize = OptU(o, "compSize", 2048);
  frameCount_ = OptU(o, "frameCount", fillSize + txSize);
  long page = sysconf(_SC_PAGESIZE);
  if (!Pow2(frameSize_) || frameSize_ < 2048 || frameSize_ > (uint32_t)page)
    throw Napi::RangeError::New(env, "frameSize must be a power of two from 2048 to the page size (" + std::to_string(page) + ")");
  for (uint32_t s : {rxSize, txSize, fillSize, compSize})
    if (!Pow2(s) || s > 65536) throw Napi::RangeError::New(env, "rxSize, txSize, fillSize and compSize must be powers of two up to 65536");
  if (frameCount_ <= fillSize || frameCount_ > (1u << 20))
    throw Napi::RangeError::New(env, "frameCount must exceed fillSize (fillSize frames serve RX, the rest TX) and be at most 1048576");
  rxFrames_ = fillSize;
  needWakeup_ = !o.Get("needWakeup").IsBoolean() || o.Get("needWakeup").As<Napi::Boolean>().Value();
  std::string bindMode = o.Get("bindMode").IsString() ? o.Get("bindMode").As<Napi::String>().Utf8Value() : "auto";
  if (bindMode != "auto" && bindMode != "copy" && bindMode != "zerocopy") throw Napi::RangeError::New(env, "bindMode must be auto, copy or zerocopy");

  areaLen_ = (size_t)frameCount_ * frameSize_;
  void* m = mmap(nullptr, areaLen_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (m == MAP_FAILED) ThrowErrno(env, errno, "mmap", "AF_XDP UMEM (" + std::to_string(areaLen_ >> 20) + " MiB)", ifname_);
  area_ = static_cast<uint8_t*>(m);

  struct xsk_umem_config uc = {fillSize, compSize, frameSize_, 0, 0};
  struct xsk_socket_config sc;
  std::memset(&sc, 0, sizeof sc);
  sc.rx_size = rxSize;
  sc.tx_size = txSize;
  sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our program, attached by XskProgram
  uint16_t wake = needWakeup_ ? XDP_USE_NEED_WAKEUP : 0;
  BpfLogCapture capture;
  std::string zcWhy;
  int err = 0;
  if (bindMode != "copy") {
    err = Create(XDP_ZEROCOPY | wake, uc, sc);
    if (err == 0) zeroCopy_ = true;
    else zcWhy = std::string(ErrnoName(err)) + (err == EOPNOTSUPP || err == EINVAL ? " (the driver has no AF_XDP zero-copy)" : " (" + std::string(std::strerror(err)) + ")");
  }
  if (!zeroCopy_ && bindMode != "zerocopy") err = Create(XDP_COPY | wake, uc, sc);
  if (err != 0) {
    std::string why;
    switch (err) {
      case EAFNOSUPPORT: why = "this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS, Linux 4.18+)"; break;
      case EPERM: case EACCES: why = "needs root or CAP_NET_RAW + CAP_NET_ADMIN (and CAP_IPC_LOCK or RLIMIT_MEMLOCK >= the UMEM size)"; break;
      case ENOBUFS: case ENOMEM: why = "cannot pin the UMEM (" + std::to_string(areaLen_ >> 20) + " MiB): raise RLIMIT_MEMLOCK (ulimit -l) or lower frameCount"; break;
      case EBUSY: why = "queue " + std::to_string(queue_) + " of '" + ifname_ + "' is already bound by another AF_XDP socket (another vtepd or application)"; break;
      case EINVAL: why = needWakeup_ ? "the kernel refused the bind (need_wakeup needs Linux 5.4+: try needWakeup false)" : "the kernel refused the bind"; break;
      case EOPNOTSUPP: why = "zero-copy: the driver has no AF_XDP zero-copy (use mode copy or auto)"; break;
      default: why = std::strerror(err);
    }
    Release();
    Napi::Error e = Napi::Error::New(env, "AF_XDP on '" + ifname_ + "' queue " + std::to_string(queue_) + " (" + bindMode + " mode): " + ErrnoName(err) + ": " + why);
    e.Set("code", Napi::String::New(env, ErrnoName(err)));
    e.Set("interface", Napi::String::New(env, ifname_));
    throw e;
  }
  fd_ = xsk_socket__fd(xsk_);
  if (int r = xsk_socket__update_xskmap(xsk_, prog->xsksMapFd()); r < 0) {
    int e = -r;
    Release();
    ThrowErrno(env, e, "bpf_map_update_elem", "AF_XDP: registering queue " + std::to_string(queue_) + " in the XSKMAP", ifname_);
  }
  // Every RX frame starts in the fill ring.
  uint32_t idx = 0;
  xsk_ring_prod__reserve(&fq_, rxFrames_, &idx);
  for (uint32_t k = 0; k < rxFrames_; k++) *xsk_ring_prod__fill_addr(&fq_, idx + k) = (uint64_t)k * frameSize_;
  xsk_ring_prod__submit(&fq_, rxFrames_);
  txFree_.resize(frameCount_ - rxFrames_);
  for (uint32_t k = rxFrames_; k < frameCount_; k++) txFree_[txFreeN_++] = (uint64_t)k * frameSize_;
  // Copy mode: let one kick send a whole TX ring (kernels without the option send 32 per kick).
  int budget = (int)txSize;
  bool budgetSet = !zeroCopy_ && setsockopt(fd_, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof budget) == 0;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, ifname_.c_str(), IFNAMSIZ - 1);
  int ifd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // AF_XDP sockets take no interface ioctls
  uint32_t mtu = ifd >= 0 && ioctl(ifd, SIOCGIFMTU, &ifr) == 0 ? (uint32_t)ifr.ifr_mtu : 1500;
  if (ifd >= 0) close(ifd);
  maxTxLen_ = std::min(frameSize_, mtu + 18);  // Ethernet header + one 802.1Q tag over the MTU, as veth/NICs accept
  program_ = Napi::Persistent(o.Get("program").As<Napi::Object>());
  Napi::Float64Array io = Napi::Float64Array::New(env, kIoSlots);
  io_ = io.Data();
  ioRef_ = Napi::Persistent(io.As<Napi::Object>());
  Napi::Object self = Value();
  self.Set("interface", ifname_);
  self.Set("ifindex", ifindex_);
  self.Set("queue", queue_);
  self.Set("zeroCopy", zeroCopy_);
  self.Set("zeroCopyError", zcWhy.empty() ? env.Null() : Napi::String::New(env, zcWhy));
  self.Set("needWakeup", needWakeup_);
  self.Set("txBudget", budgetSet ? budget : 32);
  self.Set("umemBytes", (double)areaLen_);
  self.Set("maxFrame", maxTxLen_);
  self.Set("io", io);
}

int AfXdp::Create(uint16_t bindFlags, const struct xsk_umem_config& uc, const struct xsk_socket_config& sc0) {
  struct xsk_socket_config sc = sc0;
  sc.bind_flags = bindFlags;
  // libxdp sets only some of the rings' cached indices (it expects zeroed structs, as calloc
  // gives): left as garbage, a first peek of the completion ring returned 2048 stale entries
  // and TX reused frames still in flight (duplicated frames on the wire).
  std::memset(&fq_, 0, sizeof fq_);
  std::memset(&cq_, 0, sizeof cq_);
  std::memset(&rx_, 0, sizeof rx_);
  std::memset(&tx_, 0, sizeof tx_);
  // A socket closed just before (a port reopened, a restart) releases its queue from a kernel
  // work item a moment later: EBUSY until then. Wait up to a second before calling it taken.
  for (int tries = 0;; tries++) {
    int r = xsk_umem__create(&umem_, area_, areaLen_, &fq_, &cq_, &uc);
    if (r < 0) {
      umem_ = nullptr;
      return -r;
    }
    r = xsk_socket__create(&xsk_, ifname_.c_str(), queue_, umem_, &rx_, &tx_, &sc);
    if (r == 0) return 0;
    xsk_ = nullptr;
    DestroySocket();
    if (r != -EBUSY || tries == 100) return -r;
    usleep(10000);
  }
}

void AfXdp::DestroySocket() {
  if (xsk_ != nullptr) xsk_socket__delete(xsk_);  // also leaves the XSKMAP (the kernel removes it)
  xsk_ = nullptr;
  if (umem_ != nullptr) xsk_umem__delete(umem_);
  umem_ = nullptr;
}

AfXdp::~AfXdp() { Release(); }

void AfXdp::Release() {
  poller_.Stop();
  DestroySocket();
  fd_ = -1;
  if (area_ != nullptr) munmap(area_, areaLen_);
  area_ = nullptr;
  if (!program_.IsEmpty()) program_.Reset();
}

// stats() -> deltas since the last call: the kernel's XDP_STATISTICS and our own counts.
Napi::Value AfXdp::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct xdp_statistics s;
  std::memset(&s, 0, sizeof s);
  socklen_t len = sizeof s;
  if (fd_ >= 0 && getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &s, &len) < 0) ThrowErrno(env, errno, "getsockopt", "XDP_STATISTICS", ifname_);
  if (fd_ < 0) s = last_;
  Napi::Object r = Napi::Object::New(env);
  // rx_dropped also counts the frames dropped for an empty fill ring: reported once, as fill-ring empty.
  double dropped = (double)(s.rx_dropped - last_.rx_dropped), fillEmpty = (double)(s.rx_fill_ring_empty_descs - last_.rx_fill_ring_empty_descs);
  r.Set("rxDropped", dropped > fillEmpty ? dropped - fillEmpty : 0);
  r.Set("rxInvalidDescs", (double)(s.rx_invalid_descs - last_.rx_invalid_descs));
  r.Set("txInvalidDescs", (double)(s.tx_invalid_descs - last_.tx_invalid_descs));
  r.Set("rxRingFull", (double)(s.rx_ring_full - last_.rx_ring_full));
  r.Set("rxFillRingEmpty", fillEmpty);
  r.Set("txRingEmpty", (double)(s.tx_ring_empty_descs - last_.tx_ring_empty_descs));
  last_ = s;
  r.Set("oversize", oversize_);
  r.Set("txRingFull", txRingFull_);
  r.Set("txOversize", txOversize_);
  r.Set("txBadMeta", txBadMeta_);
  r.Set("txKicks", txKicks_);
  r.Set("txKickErrors", txKickErrors_);
  r.Set("rxWakeups", rxWakeups_);
  r.Set("batches", batches_);
  r.Set("txFramesFree", txFreeN_);
  oversize_ = txRingFull_ = txOversize_ = txBadMeta_ = txKicks_ = txKickErrors_ = rxWakeups_ = batches_ = 0;
  return r;
}

Napi::Value AfXdp::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

}  // namespace vtepd

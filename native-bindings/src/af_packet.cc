// AF_PACKET port: socket set-up and the JS-facing calls; the rings live in
// packet_rx.cc (receive) and packet_tx.cc (transmit). See README.md for the
// option list.
#include "af_packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace vtepd {

static unsigned OptU(const Napi::Object& o, const char* k, unsigned dflt) {
  Napi::Value v = o.Get(k);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : dflt;
}
static bool OptB(const Napi::Object& o, const char* k, bool dflt) {
  Napi::Value v = o.Get(k);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
}

static const napi_type_tag kAfPacketTag = {0x7674657064616670ULL, 0x61636b6574000001ULL};

AfPacket* AfPacket::From(const Napi::Value& v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kAfPacketTag, &ok);
  return ok ? Napi::ObjectWrap<AfPacket>::Unwrap(v.As<Napi::Object>()) : nullptr;
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
  RxRingGeometry g;
  g.version = OptU(o, "rxRingVersion", 2);
  if (g.version != 2 && g.version != 3) throw Napi::RangeError::New(env, "rxRingVersion must be 2 (TPACKET_V2, default) or 3 (TPACKET_V3)");
  g.blockSize = OptU(o, "blockSize", g.version == 3 ? 1u << 18 : 1u << 16);
  g.blockCount = OptU(o, "blockCount", g.version == 3 ? 16 : 64);
  g.frameSize = OptU(o, "frameSize", 2048);
  g.retireMs = OptU(o, "blockTimeoutMs", 2);
  long page = sysconf(_SC_PAGESIZE);
  if (g.blockSize < (unsigned)page || (g.blockSize & (g.blockSize - 1)) != 0)
    throw Napi::RangeError::New(env, "blockSize must be a power of two >= the page size");
  if (g.frameSize < 128 || g.frameSize % TPACKET_ALIGNMENT != 0 || g.frameSize > g.blockSize)
    throw Napi::RangeError::New(env, "frameSize must be a multiple of 16, >= 128 and <= blockSize");
  if (g.blockCount < 1 || g.blockCount > 4096) throw Napi::RangeError::New(env, "blockCount must be 1..4096");
  TxOptions txo;
  txo.ring = OptB(o, "txRing", true);
  txo.frameSize = OptU(o, "txFrameSize", g.frameSize);
  txo.frameCount = OptU(o, "txRingFrames", 512);
  txo.waitMs = OptU(o, "txWaitMs", 10);
  txo.sndbuf = OptU(o, "sndbuf", 0);
  txo.qdiscBypass = OptB(o, "qdiscBypass", false);
  if (txo.frameSize < 128 || txo.frameSize > (1u << 20)) throw Napi::RangeError::New(env, "txFrameSize must be 128..1048576");
  if (txo.frameCount < 1 || txo.frameCount > 65536) throw Napi::RangeError::New(env, "txRingFrames must be 1..65536");

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
  int v;
  vnetHdr_ = OptB(o, "vnetHdr", false);
  if (OptB(o, "ignoreOutgoing", true)) {
    v = 1;  // do not see our own (or anyone's) transmitted frames; pkttype check is the fallback
    setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &v, sizeof v);
  }
  if (!txo.ring && txo.qdiscBypass) {
    v = 1;
    if (setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof v) < 0) fail("setsockopt", "PACKET_QDISC_BYPASS");
  }
  if (!txo.ring && txo.sndbuf > 0) {
    v = (int)txo.sndbuf;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) < 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  }
  const char* sys = "";
  int err = rx_.Setup(fd_, g, vnetHdr_, &sys);
  if (err != 0) {
    errno = err;
    fail(sys, std::string(sys) + " (RX ring)");
  }
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
  txo.vnet = vnetHdr_;
  txo.ifindex = ifindex_;
  txo.ifname = ifname_;
  err = tx_.Open(txo, fd_, &sys);
  if (err != 0) {
    errno = err;
    fail(sys, std::string(sys) + " (TX ring)");
  }
  // Discard the counters accumulated before the ring existed.
  struct tpacket_stats_v3 st;
  socklen_t sl = sizeof st;
  getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  napi_type_tag_object(env, Value(), &kAfPacketTag);
  Value().Set("ifindex", Napi::Number::New(env, ifindex_));
  Value().Set("interface", Napi::String::New(env, ifname_));
  Value().Set("vnetHdr", Napi::Boolean::New(env, vnetHdr_));
  Value().Set("rxRingVersion", Napi::Number::New(env, g.version));
  Value().Set("txMode", Napi::String::New(env, tx_.ring() ? "ring" : "sendmmsg"));
}

AfPacket::~AfPacket() { Release(); }

void AfPacket::Release() {
  poller_.Stop();
  tx_.Close();
  rx_.Unmap();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

// rxBurst(view, start, max[, vnet]) -> frames copied into slots start..start+n-1.
// With vnetHdr and a vnet array, slot i's virtio_net_hdr fields go to vnet[i*6..]:
// flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
Napi::Value AfPacket::RxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!rx_.mapped()) throw ClosedError(env);
  const BurstArgs a = RxBurstArgsFrom(info, vnetHdr_);
  return Napi::Number::New(env, rx_.Read(a, rxCounts_));
}

// txBurst(view, start, count[, vnet]) -> frames sent (alive ones only). With vnetHdr
// each frame is sent behind a virtio_net_hdr made from vnet[i*6..] (same layout as
// rxBurst's), or an all-zero one (no offload asked) when vnet is absent. Unsent
// frames: lastTxFull() of them found the ring full, the rest were refused (lastTxErrno()).
Napi::Value AfPacket::TxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) throw ClosedError(env);
  const BurstArgs a = TxBurstArgsFrom(info, vnetHdr_);
  TxOut out;
  uint32_t sent = tx_.Send(a, out);
  txFullFrames_ = out.full;
  if (out.refused > 0 || out.full > 0) {
    txRefused_ += out.refused;
    lastTxErrno_ = out.err != 0 ? out.err : (out.full > 0 ? EAGAIN : 0);
  }
  return Napi::Number::New(env, sent);
}

// Deltas since the last call: PACKET_STATISTICS is reset by each read; the rest
// are ours (oversize, outgoing, tx) or cumulative kernel figures (socket drops)
// turned into deltas here.
Napi::Value AfPacket::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  struct tpacket_stats_v3 st;  // V2 sockets fill the first two fields
  std::memset(&st, 0, sizeof st);
  socklen_t sl = sizeof st;
  if (fd_ >= 0 && getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl) < 0)
    ThrowErrno(env, errno, "getsockopt", "PACKET_STATISTICS", ifname_);
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t ml = sizeof mem;
  double sockDrops = fd_ >= 0 && getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 ? mem[SK_MEMINFO_DROPS] : sockDropsSeen_;
  const TxCounts& t = tx_.counts;
  r.Set("packets", Napi::Number::New(env, st.tp_packets));
  r.Set("drops", Napi::Number::New(env, st.tp_drops));
  r.Set("freezeQueue", Napi::Number::New(env, st.tp_freeze_q_cnt));
  r.Set("socketDrops", Napi::Number::New(env, sockDrops - sockDropsSeen_));
  r.Set("oversize", Napi::Number::New(env, rxCounts_.oversize));
  r.Set("outgoing", Napi::Number::New(env, rxCounts_.outgoing));
  r.Set("txSyscalls", Napi::Number::New(env, t.syscalls - txSeen_.syscalls));
  r.Set("txFullEvents", Napi::Number::New(env, t.fullEvents - txSeen_.fullEvents));
  r.Set("txRebuilds", Napi::Number::New(env, t.rebuilds - txSeen_.rebuilds));
  r.Set("txRefused", Napi::Number::New(env, txRefused_));
  sockDropsSeen_ = sockDrops;
  txSeen_ = t;
  rxCounts_ = RxCounts();
  txRefused_ = 0;
  return r;
}

Napi::Value AfPacket::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

}  // namespace vtepd

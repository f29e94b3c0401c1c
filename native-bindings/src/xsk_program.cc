#include "xsk_program.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <vector>

#include "../bpf/vtepd_xsk.h"
#include "errors.h"
#include "xdp_iface.h"

namespace vtepd {

// Interfaces (network namespace inode, ifindex) this process has attached to: a conflict with one
// of them is this vtepd's own port, which deserves a different message than another process.
static std::set<std::pair<uint64_t, int>> gAttached;
static uint64_t NetnsInode() {
  struct stat st;
  return stat("/proc/thread-self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static const napi_type_tag kXskProgramTag = {0x767465706478736bULL, 0x70726f6772616d01ULL};
static const char* kPrivHint = "needs root, or CAP_NET_ADMIN + CAP_BPF (and CAP_IPC_LOCK or a large RLIMIT_MEMLOCK)";

void XskProgram::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("XskProgram", DefineClass(env, "XskProgram", {
    InstanceMethod("setFilter", &XskProgram::SetFilter),
    InstanceMethod("counters", &XskProgram::Counters),
    InstanceMethod("close", &XskProgram::Close),
  }));
}

XskProgram* XskProgram::From(const Napi::Value& v) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kXskProgramTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), "options.program must be an XskProgram");
  return Napi::ObjectWrap<XskProgram>::Unwrap(v.As<Napi::Object>());
}

// new XskProgram({interface, object, queues, xdpMode: 'auto'|'native'|'generic', filter, attach: 'auto'|'netlink'})
XskProgram::XskProgram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<XskProgram>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "XskProgram(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("interface").IsString() || !o.Get("object").IsString()) throw Napi::TypeError::New(env, "options.interface and options.object must be strings");
  ifname_ = o.Get("interface").As<Napi::String>().Utf8Value();
  std::string path = o.Get("object").As<Napi::String>().Utf8Value();
  std::string xdpMode = o.Get("xdpMode").IsString() ? o.Get("xdpMode").As<Napi::String>().Utf8Value() : "auto";
  if (xdpMode != "auto" && xdpMode != "native" && xdpMode != "generic") throw Napi::RangeError::New(env, "xdpMode must be auto, native or generic");
  // attach: 'netlink' skips the bpf_link (as on kernels before 5.9): the program then outlives a killed process.
  netlinkOnly_ = o.Get("attach").IsString() && o.Get("attach").As<Napi::String>().Utf8Value() == "netlink";
  if (ifname_.empty() || ifname_.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name must be 1..15 characters");
  ifindex_ = (int)if_nametoindex(ifname_.c_str());
  if (ifindex_ == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "AF_XDP on '" + ifname_ + "'", ifname_);
  std::string how;
  queues_ = XskQueueCount(ifname_, &how);
  if (o.Get("queues").IsNumber()) queues_ = std::max(queues_, o.Get("queues").As<Napi::Number>().Uint32Value());
  netnsFd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

  BpfLogCapture capture;
  Napi::Value replaced = env.Null();
  AttachedXdp cur;
  if (int e = QueryAttachedXdp(ifindex_, &cur); e != 0) {
    Release();
    if (e == EPERM) throw CodedError(env, "AF_XDP on '" + ifname_ + "': cannot read its XDP state: " + kPrivHint, "EPERM");
    ThrowErrno(env, e, "bpf_xdp_query", "AF_XDP on '" + ifname_ + "'", ifname_);
  }
  if (cur.id != 0) {
    std::string what = "interface '" + ifname_ + "' already has XDP program '" + cur.name + "' (id " + std::to_string(cur.id) + ", " + cur.mode + ")";
    if (!cur.ours) {
      Release();
      throw CodedError(env, what + ", which is not vtepd's: vtepd will not replace it; " + RemoveCommand(cur, ifname_), "EBUSY");
    }
    if (cur.viaLink && gAttached.count({NetnsInode(), ifindex_}) != 0) {
      Release();
      throw CodedError(env, "interface '" + ifname_ + "' already has an AF_XDP port of this vtepd (a port and the underlay on one interface, or " +
                              "changed afxdp options of a port kept open by a reload): one AF_XDP port per interface; restart vtepd to change its options", "EBUSY");
    }
    if (cur.viaLink) {
      Release();
      throw CodedError(env, what + " held by a live process: another vtepd is using this interface (`bpftool link show` names it); stop it first", "EBUSY");
    }
    // A vtepd program nobody holds (a vtepd that attached through netlink and died): take its place.
    int old = bpf_prog_get_fd_by_id(cur.id);
    struct bpf_xdp_attach_opts dop;
    std::memset(&dop, 0, sizeof dop);
    dop.sz = sizeof dop;
    dop.old_prog_fd = old;
    int r = old >= 0 ? bpf_xdp_detach(ifindex_, cur.modeFlags, &dop) : -errno;
    if (old >= 0) close(old);
    if (r < 0) {
      Release();
      throw CodedError(env, WithBpfLog(what + ": a leftover of vtepd's, but removing it failed: " + std::strerror(-r) + "; " + RemoveCommand(cur, ifname_)), ErrnoName(-r));
    }
    Napi::Object rep = Napi::Object::New(env);
    rep.Set("id", cur.id);
    rep.Set("name", cur.name);
    rep.Set("mode", cur.mode);
    replaced = rep;
  }

  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (obj_ == nullptr || libbpf_get_error(obj_) != 0) {
    int e = errno;
    obj_ = nullptr;
    Release();
    throw CodedError(env, WithBpfLog("AF_XDP on '" + ifname_ + "': cannot open the eBPF object " + path + ": " + std::strerror(e) +
                                (e == ENOENT ? " (run npm run build:native; it needs clang, bpftool and kernel BTF)" : "")), ErrnoName(e));
  }
  struct bpf_map* xsks = bpf_object__find_map_by_name(obj_, "vtepd_xsks");
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, VTEPD_XSK_PROG_NAME);
  if (xsks == nullptr || prog == nullptr) {
    Release();
    throw CodedError(env, "AF_XDP: " + path + " is not vtepd's XSK program (no vtepd_xsks map or vtepd_xsk program)", "EINVAL");
  }
  bpf_map__set_max_entries(xsks, queues_);
  if (int r = bpf_object__load(obj_); r < 0) {
    int e = -r;
    Release();
    if (e == EPERM || e == EACCES) throw CodedError(env, WithBpfLog("AF_XDP on '" + ifname_ + "': loading the XDP program was refused: " + kPrivHint), "EPERM");
    throw CodedError(env, WithBpfLog("AF_XDP on '" + ifname_ + "': the kernel refused the XDP program (" + std::string(std::strerror(e)) + "; XSKMAP and bpf_redirect_map fallback need Linux 5.3+)"), ErrnoName(e));
  }
  progFd_ = bpf_program__fd(prog);
  xsksFd_ = bpf_map__fd(xsks);
  cfgFd_ = bpf_map__fd(bpf_object__find_map_by_name(obj_, "vtepd_xsk_cfg"));
  cntFd_ = bpf_map__fd(bpf_object__find_map_by_name(obj_, "vtepd_xsk_cnt"));
  try {
    ApplyFilter(env, o.Get("filter"));
  } catch (...) {
    Release();
    throw;
  }

  std::string whyNative, whyGeneric;
  bool ok = false;
  if (xdpMode != "generic") ok = AttachMode(XDP_FLAGS_DRV_MODE, &whyNative);
  if (!ok && xdpMode != "native") ok = AttachMode(XDP_FLAGS_SKB_MODE, &whyGeneric);
  if (!ok) {
    Release();
    std::string driver = DriverName(ifname_);
    std::string msg = "AF_XDP on '" + ifname_ + "'" + (driver.empty() ? "" : " (driver " + driver + ")") + ": cannot attach the XDP program: ";
    if (xdpMode != "generic") msg += "native: " + whyNative + (xdpMode == "native" ? " (xdpMode generic works on any driver, slower)" : "; ");
    if (xdpMode != "native") msg += "generic: " + whyGeneric;
    throw CodedError(env, WithBpfLog(msg), "EOPNOTSUPP");
  }
  netnsIno_ = NetnsInode();
  gAttached.insert({netnsIno_, ifindex_});
  AttachedXdp now;
  QueryAttachedXdp(ifindex_, &now);
  Napi::Object self = Value();
  self.Set("interface", ifname_);
  self.Set("ifindex", ifindex_);
  self.Set("queues", queues_);
  self.Set("queueSource", how);
  self.Set("mode", attachFlags_ == XDP_FLAGS_DRV_MODE ? "native" : "generic");
  self.Set("attachedVia", linkFd_ >= 0 ? "link" : "netlink");
  self.Set("progId", now.id);
  self.Set("nativeError", whyNative.empty() || attachFlags_ == XDP_FLAGS_DRV_MODE ? env.Null() : Napi::String::New(env, whyNative));
  self.Set("replaced", replaced);
  napi_type_tag_object(env, self, &kXskProgramTag);
}

// One attach point: a bpf_link first; netlink where the kernel has no XDP links (before 5.9).
bool XskProgram::AttachMode(uint32_t flags, std::string* why) {
  struct bpf_link_create_opts lo;
  std::memset(&lo, 0, sizeof lo);
  lo.sz = sizeof lo;
  lo.flags = flags;
  int fd = netlinkOnly_ ? -1 : bpf_link_create(progFd_, ifindex_, BPF_XDP, &lo);
  if (fd >= 0) {
    linkFd_ = fd;
    attachFlags_ = flags;
    return true;
  }
  int linkErr = netlinkOnly_ ? 0 : errno;
  // Netlink says why in words (extack, through libbpf's log) and works on older kernels.
  int r = bpf_xdp_attach(ifindex_, progFd_, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
  if (r == 0) {
    netlinkAttached_ = true;
    attachFlags_ = flags;
    return true;
  }
  int e = -r;
  if (e == EPERM || linkErr == EPERM) *why = std::string("EPERM: ") + kPrivHint;
  else if (e == EOPNOTSUPP) *why = "EOPNOTSUPP (the driver has no XDP in this mode)";
  else if (e == EBUSY || e == EEXIST) *why = std::string(ErrnoName(e)) + " (another XDP program was attached meanwhile)";
  else *why = std::string(ErrnoName(e)) + " (" + std::strerror(e) + ")";
  std::string log = BpfLogCapture::Text();
  size_t k = log.rfind("Kernel error message: ");
  if (k != std::string::npos) *why += ": " + log.substr(k + 22, log.find('\n', k) == std::string::npos ? std::string::npos : log.find('\n', k) - k - 22);
  return false;
}

static std::vector<uint32_t> U32List(const Napi::Value& v) {
  std::vector<uint32_t> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  return out;
}

void TunnelFilterCfg(Napi::Env env, const Napi::Object& f, struct vtepd_xsk_cfg* c) {
  c->mode = VTEPD_XSK_TUNNEL;
  c->gre = f.Get("gre").ToBoolean();
  std::vector<uint32_t> ports = U32List(f.Get("udpPorts"));
  if (ports.size() > VTEPD_XSK_MAX_UDP_PORTS) throw Napi::RangeError::New(env, "filter.udpPorts: at most 8 tunnel UDP ports");
  for (size_t i = 0; i < ports.size(); i++) {
    if (ports[i] == 0 || ports[i] > 65535) throw Napi::RangeError::New(env, "filter.udpPorts: UDP ports are 1..65535");
    c->udp_ports[i] = htons((uint16_t)ports[i]);
  }
  c->nports = (uint32_t)ports.size();
  if (f.Get("address").IsString()) {
    std::string a = f.Get("address").As<Napi::String>().Utf8Value();
    if (inet_pton(AF_INET, a.c_str(), &c->addr4) == 1) c->has_addr4 = 1;
    else if (inet_pton(AF_INET6, a.c_str(), c->addr6) == 1) c->has_addr6 = 1;
    else throw Napi::TypeError::New(env, "filter.address is not an IP address: " + a);
  }
}

// filter: {mode: 'all'|'vlans'|'tunnel', vlans, untagged, udpPorts, gre, address}
void XskProgram::ApplyFilter(Napi::Env env, const Napi::Value& v) {
  struct vtepd_xsk_cfg c;
  std::memset(&c, 0, sizeof c);
  c.mode = VTEPD_XSK_ALL;
  if (v.IsObject()) {
    Napi::Object f = v.As<Napi::Object>();
    std::string mode = f.Get("mode").IsString() ? f.Get("mode").As<Napi::String>().Utf8Value() : "all";
    if (mode == "vlans") {
      c.mode = VTEPD_XSK_VLANS;
      c.untagged = f.Get("untagged").ToBoolean();
      for (uint32_t vid : U32List(f.Get("vlans"))) {
        if (vid > 4095) throw Napi::RangeError::New(env, "filter.vlans: VLAN IDs are 0..4095");
        c.vlans[vid >> 6] |= 1ULL << (vid & 63);
      }
    } else if (mode == "tunnel") {
      TunnelFilterCfg(env, f, &c);
    } else if (mode != "all") {
      throw Napi::RangeError::New(env, "filter.mode must be all, vlans or tunnel");
    }
  }
  uint32_t zero = 0;
  if (bpf_map_update_elem(cfgFd_, &zero, &c, BPF_ANY) < 0) ThrowErrno(env, errno, "bpf_map_update_elem", "AF_XDP filter on '" + ifname_ + "'");
}

Napi::Value XskProgram::SetFilter(const Napi::CallbackInfo& info) {
  if (cfgFd_ < 0) throw Napi::Error::New(info.Env(), "XDP program on '" + ifname_ + "' is closed");
  ApplyFilter(info.Env(), info[0]);
  return info.Env().Undefined();
}

// counters() -> {taken, passed, noSocket}: totals since attach, summed over CPUs.
Napi::Value XskProgram::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  static const char* names[VTEPD_XSK_COUNTERS] = {"taken", "passed", "noSocket"};
  for (uint32_t k = 0; k < VTEPD_XSK_COUNTERS; k++) r.Set(names[k], (double)SumPerCpuSlot(cntFd_, k));
  return r;
}

Napi::Value XskProgram::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

XskProgram::~XskProgram() { Release(); }

void XskProgram::Release() {
  if (attached()) gAttached.erase({netnsIno_, ifindex_});
  if (linkFd_ >= 0) close(linkFd_);  // detaches: the link was the only holder
  linkFd_ = -1;
  if (netlinkAttached_) {
    // Only our own program, in the namespace it was attached in.
    int here = netnsFd_ >= 0 ? open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
    if (here >= 0) setns(netnsFd_, CLONE_NEWNET);
    struct bpf_xdp_attach_opts dop;
    std::memset(&dop, 0, sizeof dop);
    dop.sz = sizeof dop;
    dop.old_prog_fd = progFd_;
    bpf_xdp_detach(ifindex_, attachFlags_, &dop);
    if (here >= 0) {
      setns(here, CLONE_NEWNET);
      close(here);
    }
    netlinkAttached_ = false;
  }
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
  progFd_ = xsksFd_ = cfgFd_ = cntFd_ = -1;
  if (netnsFd_ >= 0) close(netnsFd_);
  netnsFd_ = -1;
}

}  // namespace vtepd

#include "stack_bypass.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>

#include "../bpf/vtepd_bypass.h"
#include "../bpf/vtepd_xsk.h"
#include "errors.h"
#include "xdp_iface.h"
#include "xsk_program.h"

namespace vtepd {

// enum bpf_attach_type's BPF_TCX_INGRESS (Linux 6.6): the build host's uapi headers may predate it.
static constexpr int kTcxIngress = 46;
static const char* kPrivHint = "needs root, or CAP_NET_ADMIN + CAP_BPF";

void StackBypass::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("StackBypass", DefineClass(env, "StackBypass", {
    InstanceMethod("setFilter", &StackBypass::SetFilter),
    InstanceMethod("counters", &StackBypass::Counters),
    InstanceMethod("close", &StackBypass::Close),
  }));
}

StackBypass::StackBypass(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StackBypass>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "StackBypass(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("interface").IsString() || !o.Get("object").IsString()) throw Napi::TypeError::New(env, "options.interface and options.object must be strings");
  if (!o.Get("filter").IsObject()) throw Napi::TypeError::New(env, "options.filter must be {udpPorts, gre, address}");
  ifname_ = o.Get("interface").As<Napi::String>().Utf8Value();
  std::string path = o.Get("object").As<Napi::String>().Utf8Value();
  if (ifname_.empty() || ifname_.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name must be 1..15 characters");
  ifindex_ = (int)if_nametoindex(ifname_.c_str());
  if (ifindex_ == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "stack bypass on '" + ifname_ + "'", ifname_);
  const std::string where = "stack bypass on '" + ifname_ + "'";

  BpfLogCapture capture;
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (obj_ == nullptr || libbpf_get_error(obj_) != 0) {
    int e = errno;
    obj_ = nullptr;
    throw CodedError(env, WithBpfLog(where + ": cannot open the eBPF object " + path + ": " + std::strerror(e) +
                                  (e == ENOENT ? " (run npm run build:native; it needs clang, bpftool and kernel BTF)" : "")), ErrnoName(e));
  }
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, VTEPD_BYPASS_PROG_NAME);
  struct bpf_map* cfg = bpf_object__find_map_by_name(obj_, "vtepd_byp_cfg");
  struct bpf_map* cnt = bpf_object__find_map_by_name(obj_, "vtepd_byp_cnt");
  if (prog == nullptr || cfg == nullptr || cnt == nullptr) {
    Release();
    throw CodedError(env, where + ": " + path + " is not vtepd's bypass program (no " VTEPD_BYPASS_PROG_NAME " program or its maps)", "EINVAL");
  }
  if (int r = bpf_object__load(obj_); r < 0) {
    int e = -r;
    Release();
    if (e == EPERM || e == EACCES) throw CodedError(env, WithBpfLog(where + ": loading the tc program was refused: " + kPrivHint), "EPERM");
    throw CodedError(env, WithBpfLog(where + ": the kernel refused the tc program (" + std::string(std::strerror(e)) + ")"), ErrnoName(e));
  }
  cfgFd_ = bpf_map__fd(cfg);
  cntFd_ = bpf_map__fd(cnt);
  try {
    ApplyFilter(env, o.Get("filter"));
  } catch (...) {
    Release();
    throw;
  }
  // Appended after any tcx program already there (no BPF_F_BEFORE): others' programs run first.
  linkFd_ = bpf_link_create(bpf_program__fd(prog), ifindex_, (enum bpf_attach_type)kTcxIngress, nullptr);
  if (linkFd_ < 0) {
    int e = errno;
    Release();
    if (e == EPERM || e == EACCES) throw CodedError(env, where + ": attaching at tcx ingress was refused: " + kPrivHint, "EPERM");
    if (e == EINVAL) throw CodedError(env, where + ": this kernel has no tcx attach point (Linux 6.6+)", "EOPNOTSUPP");
    throw CodedError(env, WithBpfLog(where + ": attaching at tcx ingress failed: " + std::string(ErrnoName(e)) + " (" + std::strerror(e) + ")"), ErrnoName(e));
  }
  struct bpf_prog_info pi;
  std::memset(&pi, 0, sizeof pi);
  uint32_t len = sizeof pi;
  bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len);
  Napi::Object self = Value();
  self.Set("interface", ifname_);
  self.Set("ifindex", ifindex_);
  self.Set("progId", pi.id);
}

void StackBypass::ApplyFilter(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "filter must be {udpPorts, gre, address}");
  struct vtepd_xsk_cfg c;
  std::memset(&c, 0, sizeof c);
  TunnelFilterCfg(env, v.As<Napi::Object>(), &c);
  uint32_t zero = 0;
  if (bpf_map_update_elem(cfgFd_, &zero, &c, BPF_ANY) < 0) ThrowErrno(env, errno, "bpf_map_update_elem", "stack bypass filter on '" + ifname_ + "'");
}

Napi::Value StackBypass::SetFilter(const Napi::CallbackInfo& info) {
  if (cfgFd_ < 0) throw Napi::Error::New(info.Env(), "stack bypass on '" + ifname_ + "' is closed");
  ApplyFilter(info.Env(), info[0]);
  return info.Env().Undefined();
}

// counters() -> {dropped, passed}: totals since attach, summed over CPUs.
Napi::Value StackBypass::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object r = Napi::Object::New(env);
  static const char* names[VTEPD_BYPASS_COUNTERS] = {"dropped", "passed"};
  for (uint32_t k = 0; k < VTEPD_BYPASS_COUNTERS; k++) r.Set(names[k], (double)SumPerCpuSlot(cntFd_, k));
  return r;
}

Napi::Value StackBypass::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

StackBypass::~StackBypass() { Release(); }

void StackBypass::Release() {
  if (linkFd_ >= 0) close(linkFd_);  // detaches: the link is the program's only holder
  linkFd_ = -1;
  if (obj_ != nullptr) bpf_object__close(obj_);
  obj_ = nullptr;
  cfgFd_ = cntFd_ = -1;
}

}  // namespace vtepd

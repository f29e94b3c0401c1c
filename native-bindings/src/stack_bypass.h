#pragma once
#include <napi.h>

#include <string>

struct bpf_object;

namespace vtepd {

// vtepd's tcx ingress program (native-bindings/bpf/vtepd_bypass.bpf.c) on an
// AF_PACKET underlay: tunnel frames to the underlay address end at tc ingress,
// after vtepd's packet socket has them, instead of crossing the host's IP and
// UDP stack to be dropped at the guard socket. Attached through a bpf_link
// (tcx, Linux 6.6+), held only by this object: the kernel detaches it when the
// object closes or the process dies, even on kill -9, so nothing is left behind.
//
// new StackBypass({interface, object, filter: {udpPorts, gre, address}}); setFilter(filter);
// counters() -> {dropped, passed}; close(). Errors carry `code` (ENOENT object missing,
// EPERM privileges, EOPNOTSUPP kernel without tcx, ...).
class StackBypass : public Napi::ObjectWrap<StackBypass> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit StackBypass(const Napi::CallbackInfo& info);
  ~StackBypass() override;

 private:
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void ApplyFilter(Napi::Env env, const Napi::Value& v);
  void Release();

  std::string ifname_;
  int ifindex_ = 0;
  struct bpf_object* obj_ = nullptr;
  int cfgFd_ = -1, cntFd_ = -1, linkFd_ = -1;
};

}  // namespace vtepd

#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

struct bpf_object;
struct vtepd_xsk_cfg;

namespace vtepd {

// The underlay filter (TUNNEL mode) from {udpPorts, gre, address}; RangeError/TypeError on bad values.
// Shared by the AF_XDP program and the stack bypass (stack_bypass.h).
void TunnelFilterCfg(Napi::Env env, const Napi::Object& f, struct vtepd_xsk_cfg* c);

// vtepd's XDP program (native-bindings/bpf/vtepd_xsk.bpf.c) loaded and attached to
// one interface: frames the filter picks go to the AF_XDP socket of their RX queue
// (the XSKMAP), the rest continue into the kernel. Attached through a bpf_link where
// the kernel has them (5.9+), so the kernel removes it when the process dies, even on
// kill -9; netlink attach otherwise, removed by Release(). A leftover vtepd_xsk that
// no live process holds is replaced (reported in `replaced`); anyone else's program
// is refused with the command that removes it.
class XskProgram : public Napi::ObjectWrap<XskProgram> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit XskProgram(const Napi::CallbackInfo& info);
  ~XskProgram() override;
  // The XskProgram behind a JS argument; TypeError otherwise.
  static XskProgram* From(const Napi::Value& v);

  int xsksMapFd() const { return xsksFd_; }
  int ifindex() const { return ifindex_; }
  const std::string& interfaceName() const { return ifname_; }
  uint32_t queues() const { return queues_; }
  bool attached() const { return linkFd_ >= 0 || netlinkAttached_; }

 private:
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void ApplyFilter(Napi::Env env, const Napi::Value& v);
  bool AttachMode(uint32_t flags, std::string* why);
  void Release();

  std::string ifname_;
  int ifindex_ = 0;
  uint32_t queues_ = 1;
  struct bpf_object* obj_ = nullptr;
  int progFd_ = -1, xsksFd_ = -1, cfgFd_ = -1, cntFd_ = -1;
  int linkFd_ = -1;
  bool netlinkAttached_ = false;
  bool netlinkOnly_ = false;
  uint32_t attachFlags_ = 0;
  int netnsFd_ = -1;  // the namespace of ifindex_, for a netlink detach from elsewhere
  uint64_t netnsIno_ = 0;
};

}  // namespace vtepd

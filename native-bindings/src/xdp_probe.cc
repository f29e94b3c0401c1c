// xdpProbe(ifname): what AF_XDP would find on an interface, without attaching
// anything (for `vtepd offload probe` and for errors that say why not).
#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <napi.h>

#include "af_xdp.h"
#include "errors.h"
#include "xdp_iface.h"
#include "xsk_program.h"

namespace vtepd {

static Napi::Value XdpProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "xdpProbe(interface) needs an interface name");
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  Napi::Object r = Napi::Object::New(env);
  r.Set("interface", ifname);
  // AF_XDP in this kernel at all: a socket is cheap and changes nothing.
  int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  int sockErr = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  r.Set("socketErrno", sockErr == 0 ? env.Null() : Napi::String::New(env, ErrnoName(sockErr)));
  int ifindex = ifname.empty() || ifname.size() >= IFNAMSIZ ? 0 : (int)if_nametoindex(ifname.c_str());
  r.Set("ifindex", ifindex);
  if (ifindex == 0) return r;
  std::string how;
  r.Set("queues", XskQueueCount(ifname, &how));
  r.Set("queueSource", how);
  r.Set("driver", DriverName(ifname));
  XdpFeatures f = QueryXdpFeatures(ifindex);
  Napi::Object fo = Napi::Object::New(env);
  fo.Set("known", f.known);
  fo.Set("native", f.basic && f.redirect);
  fo.Set("zeroCopy", f.zeroCopy);
  fo.Set("zcMaxSegs", f.zcMaxSegs);
  fo.Set("why", f.why);
  r.Set("features", fo);
  AttachedXdp a;
  int e = QueryAttachedXdp(ifindex, &a);
  r.Set("queryErrno", e == 0 ? env.Null() : Napi::String::New(env, ErrnoName(e)));
  if (e == 0 && a.id != 0) {
    Napi::Object ao = Napi::Object::New(env);
    ao.Set("id", a.id);
    ao.Set("name", a.name);
    ao.Set("mode", a.mode);
    ao.Set("ours", a.ours);
    ao.Set("viaLink", a.viaLink);
    ao.Set("remove", RemoveCommand(a, ifname));
    r.Set("attached", ao);
  } else {
    r.Set("attached", env.Null());
  }
  return r;
}

void InitAfXdp(Napi::Env env, Napi::Object exports) {
  XskProgram::Init(env, exports);
  AfXdp::Init(env, exports);
  exports.Set("xdpProbe", Napi::Function::New(env, XdpProbe));
}

}  // namespace vtepd

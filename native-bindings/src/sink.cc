// UDP sink: a UDP socket bound to the tunnel port with a drop-everything socket
// filter. While the AF_PACKET underlay reads tunnel traffic off the wire, the
// kernel stack also sees it; with no socket on the port it would answer each
// datagram with ICMP port-unreachable. A bound socket stops that, and the
// filter (BPF "ret #0") discards datagrams before they are queued: no memory,
// no wake-ups, no per-datagram JS.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <napi.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "errors.h"

namespace vtepd {

// udpSink(address, port[, ifname]) -> fd
static Napi::Value UdpSink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  unsigned port = info[1].As<Napi::Number>().Uint32Value();
  std::string ifname = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  struct sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  socklen_t sl;
  int fam;
  auto* s4 = reinterpret_cast<struct sockaddr_in*>(&ss);
  auto* s6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) == 1) {
    fam = AF_INET;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    sl = sizeof *s4;
  } else if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) == 1) {
    fam = AF_INET6;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    sl = sizeof *s6;
  } else {
    throw Napi::TypeError::New(env, "udpSink: '" + addr + "' is not an IP address");
  }
  int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket", "UDP sink socket");
  struct sock_filter drop_all[] = {{BPF_RET | BPF_K, 0, 0, 0}};
  struct sock_fprog prog = {1, drop_all};
  int one = 1;
  if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 ||
      (!ifname.empty() && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) < 0) ||
      bind(fd, reinterpret_cast<struct sockaddr*>(&ss), sl) < 0) {
    int e = errno;
    close(fd);
    ThrowErrno(env, e, "bind", "UDP sink on " + addr + ":" + std::to_string(port), ifname);
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

void InitSink(Napi::Env env, Napi::Object exports) {
  exports.Set("udpSink", Napi::Function::New(env, UdpSink));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
}

}  // namespace vtepd

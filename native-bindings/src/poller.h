// Readiness through libuv: one uv_poll_t on the socket/tun fd. An idle port costs
// nothing (the fd sits in the loop's epoll set); when it becomes readable the JS
// callback runs once and drains with rxBurst, never one JS call per frame.
#pragma once
#include <napi.h>
#include <uv.h>

namespace vtepd {

class Poller {
 public:
  Poller() = default;
  ~Poller();
  // Starts (or re-targets) readiness callbacks on fd; `owner` is kept alive meanwhile.
  void Start(Napi::Env env, int fd, Napi::Function cb, Napi::Object owner);
  // Stops callbacks; safe to call twice. After Stop the fd may be closed.
  void Stop();
  bool active() const { return handle_ != nullptr; }

 private:
  static void OnPoll(uv_poll_t* h, int status, int events);
  uv_poll_t* handle_ = nullptr;
  napi_env env_ = nullptr;
  Napi::FunctionReference cb_;
  Napi::ObjectReference owner_;
};

}  // namespace vtepd

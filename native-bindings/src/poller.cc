#include "poller.h"

namespace vtepd {

Poller::~Poller() { Stop(); }

void Poller::Start(Napi::Env env, int fd, Napi::Function cb, Napi::Object owner) {
  Stop();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no libuv loop");
  auto* h = new uv_poll_t;
  int r = uv_poll_init(loop, h, fd);
  if (r != 0) {
    delete h;
    throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(r));
  }
  h->data = this;
  r = uv_poll_start(h, UV_READABLE, OnPoll);
  if (r != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* x) { delete reinterpret_cast<uv_poll_t*>(x); });
    throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
  }
  handle_ = h;
  env_ = env;
  cb_ = Napi::Persistent(cb);
  owner_ = Napi::Persistent(owner);  // strong ref: the port object lives while it is polled
}

void Poller::Stop() {
  if (handle_ == nullptr) return;
  uv_poll_stop(handle_);  // removes the fd from epoll now, so the fd may be closed next
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_), [](uv_handle_t* x) { delete reinterpret_cast<uv_poll_t*>(x); });
  handle_ = nullptr;
  if (!cb_.IsEmpty()) cb_.Reset();
  if (!owner_.IsEmpty()) owner_.Reset();
}

void Poller::OnPoll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<Poller*>(h->data);
  if (self == nullptr || self->cb_.IsEmpty()) return;
  Napi::Env env(self->env_);
  Napi::HandleScope scope(env);
  try {
    // MakeCallback runs microtasks and keeps async_hooks context like any libuv callback.
    self->cb_.MakeCallback(self->owner_.Value(), {Napi::Number::New(env, status)});  // recv must be an object
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());  // same as an exception thrown from a timer
  }
}

}  // namespace vtepd

// Network-namespace helpers for the calling (main) thread: sockets and TAP fds
// keep the namespace they were created in, so a process can open a port inside
// a namespace and switch back. Used by tests and by a daemon that serves a netns.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <sched.h>
#include <unistd.h>

#include "errors.h"

namespace vtepd {

// netnsEnter(path) -> fd of the namespace we left (pass it to netnsRestore).
static Napi::Value NetnsEnter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old < 0) ThrowErrno(env, errno, "open", "open /proc/thread-self/ns/net");
  int nfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (nfd < 0) {
    int e = errno;
    close(old);
    ThrowErrno(env, e, "open", "open network namespace " + path);
  }
  if (setns(nfd, CLONE_NEWNET) < 0) {
    int e = errno;
    close(old);
    close(nfd);
    ThrowErrno(env, e, "setns", "enter network namespace " + path);
  }
  close(nfd);
  return Napi::Number::New(env, old);
}

static Napi::Value NetnsRestore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int r = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (r < 0) ThrowErrno(env, e, "setns", "return to the original network namespace");
  return env.Undefined();
}

void InitNetns(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsEnter", Napi::Function::New(env, NetnsEnter));
  exports.Set("netnsRestore", Napi::Function::New(env, NetnsRestore));
}

}  // namespace vtepd

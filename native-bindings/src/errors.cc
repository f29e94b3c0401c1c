#include "errors.h"

#include <cerrno>
#include <cstring>

namespace vtepd {

const char* ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* n = strerrorname_np(err);
  if (n != nullptr) return n;
#endif
  return "EUNKNOWN";
}

static std::string Hint(int err, const std::string& ifname) {
  switch (err) {
    case EPERM:
    case EACCES:
      return "needs root or CAP_NET_RAW/CAP_NET_ADMIN";
    case ENODEV:
    case ENXIO:
      return ifname.empty() ? "no such interface" : "no such interface '" + ifname + "'";
    case ENETDOWN:
      return ifname.empty() ? "interface is down" : "interface '" + ifname + "' is down (ip link set " + ifname + " up)";
    case EBUSY:
      return ifname.empty() ? "device busy" : "device '" + ifname + "' is busy (already attached elsewhere?)";
    default:
      return "";
  }
}

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall, const std::string& what,
                       const std::string& ifname) {
  std::string msg = what + ": " + ErrnoName(err) + " (" + std::strerror(err) + ")";
  std::string hint = Hint(err, ifname);
  if (!hint.empty()) msg += ": " + hint;
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!ifname.empty()) e.Set("interface", Napi::String::New(env, ifname));
  return e;
}

void ThrowErrno(Napi::Env env, int err, const std::string& syscall, const std::string& what,
                const std::string& ifname) {
  throw ErrnoError(env, err, syscall, what, ifname);
}

Napi::Error CodedError(Napi::Env env, const std::string& msg, const char* code) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

}  // namespace vtepd

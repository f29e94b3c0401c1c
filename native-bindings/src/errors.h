// Errors thrown to JS carry the errno name (`code`), the number (`errno`), the
// syscall, and a hint a user can act on (missing interface, link down, privileges).
#pragma once
#include <napi.h>
#include <string>

namespace vtepd {

// Builds "<what>: <ENAME> (<strerror>)[: hint]" with code/errno/syscall properties.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& syscall, const std::string& what,
                       const std::string& ifname = "");

// Throws ErrnoError (C++ exception, node-addon-api turns it into a JS throw).
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const std::string& syscall, const std::string& what,
                             const std::string& ifname = "");

const char* ErrnoName(int err);

}  // namespace vtepd

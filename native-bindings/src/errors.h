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

// An Error with `msg` and a `code` property (an errno name, or a name such as EOPNOTSUPP for a refusal
// that has no errno of its own).
Napi::Error CodedError(Napi::Env env, const std::string& msg, const char* code);

}  // namespace vtepd

// Registration of the native fast-path stages (one file each). They work on
// a BatchView (batch_view.h) once per batch; their export names are the ones
// src/offload/plan-schema.ts (NATIVE_EXPORTS) looks for.
#pragma once
#include <napi.h>

namespace vtepd {
void InitEncap(Napi::Env env, Napi::Object exports);     // encap.cc
void InitDecap(Napi::Env env, Napi::Object exports);     // decap.cc
void InitFdb(Napi::Env env, Napi::Object exports);       // fdb.cc
void InitChecksum(Napi::Env env, Napi::Object exports);  // checksum.cc
void InitReplicate(Napi::Env env, Napi::Object exports); // replicate.cc
}  // namespace vtepd

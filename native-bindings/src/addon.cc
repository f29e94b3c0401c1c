#include <napi.h>

#include "batch_view.h"
#include "errors.h"
#include "generated/contract.h"
#include "stages.h"
#ifdef __linux__
#include "af_packet.h"
#include "tap.h"
#include "stack_bypass.h"
#endif

namespace vtepd {
void InitNetns(Napi::Env env, Napi::Object exports);
void InitSink(Napi::Env env, Napi::Object exports);
void InitAfXdp(Napi::Env env, Napi::Object exports);  // af_xdp.cc, xsk_program.cc, xdp_probe.cc
void InitBusyPoll(Napi::Env env, Napi::Object exports);
void InitTrafgen(Napi::Env env, Napi::Object exports);  // trafgen.cc: bench:live's XDP generator
void InitXdpPlan(Napi::Env env, Napi::Object exports);  // xdp_plan.cc: the xdp offload plan's programs and maps
}

// errnoName(n): lets JS name errnos reported by txBurst (lastTxErrno) the same way.
static Napi::Value ErrnoNameJs(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), vtepd::ErrnoName(info[0].As<Napi::Number>().Int32Value()));
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef __linux__
  vtepd::AfPacket::Init(env, exports);
  vtepd::Tap::Init(env, exports);
  vtepd::InitNetns(env, exports);
  vtepd::InitSink(env, exports);
  vtepd::InitAfXdp(env, exports);
  vtepd::InitBusyPoll(env, exports);
  vtepd::InitTrafgen(env, exports);
  vtepd::InitXdpPlan(env, exports);
  vtepd::StackBypass::Init(env, exports);
#endif
  // Fast-path stages: portable C, no Linux calls.
  vtepd::BatchView::Init(env, exports);
  vtepd::InitEncap(env, exports);
  vtepd::InitDecap(env, exports);
  vtepd::InitFdb(env, exports);
  vtepd::InitChecksum(env, exports);
  vtepd::InitReplicate(env, exports);
  exports.Set("errnoName", Napi::Function::New(env, ErrnoNameJs));
  // The contract sections this build was compiled from (src/native/contract.ts checks them).
  Napi::Object contract = Napi::Object::New(env);
  contract.Set("batch", VTEPD_CONTRACT_BATCH_HASH);
  contract.Set("l2", VTEPD_CONTRACT_L2_HASH);
  exports.Set("contract", contract);
  return exports;
}

NODE_API_MODULE(vtepd_native, Init)

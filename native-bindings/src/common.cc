#include "common.h"

namespace vtepd {

static uint32_t U32(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != (uint32_t)d) throw Napi::RangeError::New(v.Env(), std::string(what) + " must be a u32 integer");
  return (uint32_t)d;
}

static uint16_t* Vnet(const Napi::CallbackInfo& info, size_t at, bool withVnet, const BatchView* b) {
  if (!withVnet || info.Length() <= at || !info[at].IsTypedArray()) return nullptr;
  size_t nv = 0;
  uint16_t* v = TypedData<uint16_t>(info[at], &nv, "vnet");
  if (nv < (size_t)b->capacity * 6) throw Napi::RangeError::New(info.Env(), "vnet must hold 6 fields per batch slot");
  return v;
}

BurstArgs RxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet) {
  BurstArgs a;
  a.b = BatchView::From(info[0], "rxBurst: view");
  a.start = U32(info[1], "rxBurst: start");
  a.n = U32(info[2], "rxBurst: max");
  if (a.start > a.b->capacity) throw Napi::RangeError::New(info.Env(), "rxBurst: start beyond the batch");
  if (a.n > a.b->capacity - a.start) a.n = a.b->capacity - a.start;
  a.vnet = Vnet(info, 3, withVnet, a.b);
  return a;
}

BurstArgs TxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet) {
  BurstArgs a;
  a.b = BatchView::From(info[0], "txBurst: view");
  a.start = U32(info[1], "txBurst: start");
  a.n = U32(info[2], "txBurst: count");
  if (a.start > a.b->capacity || a.n > a.b->capacity - a.start) throw Napi::RangeError::New(info.Env(), "txBurst: start/count beyond the batch");
  a.vnet = Vnet(info, 3, withVnet, a.b);
  return a;
}

}  // namespace vtepd

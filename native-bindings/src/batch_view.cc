#include "batch_view.h"

#include <string>

#include "common.h"

namespace vtepd {

namespace {
template <typename T>
T* Field(const Napi::Object& b, const char* name, size_t need) {
  size_t n = 0;
  T* p = TypedData<T>(b.Get(name), &n, (std::string("batch.") + name).c_str());
  if (n < need) throw Napi::RangeError::New(b.Env(), std::string("batch.") + name + " is shorter than the batch capacity");
  return p;
}
uint32_t U32(const Napi::Object& b, const char* name) {
  Napi::Value v = b.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(b.Env(), std::string("batch.") + name + " must be a number");
  return v.As<Napi::Number>().Uint32Value();
}
}  // namespace

// A type tag (not instanceof): one pointer compare per call, and a plain object cannot fake it.
static const napi_type_tag kBatchViewTag = {0x7674657064626174ULL, 0x6368766965770001ULL};

BatchView::BatchView(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BatchView>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "BatchView(batch) needs a PacketBatch");
  Napi::Object b = info[0].As<Napi::Object>();
  capacity = U32(b, "capacity");
  slotSize = U32(b, "slotSize");
  headroom = U32(b, "headroom");
  dataRoom = U32(b, "dataRoom");
  if (capacity == 0 || headroom + dataRoom > slotSize) throw Napi::RangeError::New(env, "BatchView: inconsistent batch geometry");
  data = TypedData<uint8_t>(b.Get("data"), &dataLen, "batch.data");
  if (dataLen < (uint64_t)capacity * slotSize) throw Napi::RangeError::New(env, "BatchView: batch.data is smaller than capacity * slotSize");
#define VTEPD_BV_BIND(name, type, perPacket) name = Field<type>(b, #name, (size_t)capacity * (perPacket));
  VTEPD_BATCH_FIELDS(VTEPD_BV_BIND)
#undef VTEPD_BV_BIND
  batch_ = Napi::Persistent(b);
  napi_type_tag_object(env, info.This(), &kBatchViewTag);
}

BatchView* BatchView::From(const Napi::Value& v, const char* what) {
  bool ok = false;
  if (v.IsObject()) napi_check_object_type_tag(v.Env(), v, &kBatchViewTag, &ok);
  if (!ok) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a BatchView");
  return Napi::ObjectWrap<BatchView>::Unwrap(v.As<Napi::Object>());
}

uint32_t BatchView::CheckCount(const Napi::Value& v) const {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "count must be a number");
  double c = v.As<Napi::Number>().DoubleValue();
  if (!(c >= 0 && c <= capacity) || c != (uint32_t)c) throw Napi::RangeError::New(v.Env(), "count must be an integer in 0..capacity");
  return (uint32_t)c;
}

void BatchView::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("BatchView", DefineClass(env, "BatchView", {}));
}

}  // namespace vtepd

#include "common.h"

namespace vtepd {

static uint32_t U32(const Napi::Value& v) { return v.As<Napi::Number>().Uint32Value(); }

RxBurstArgs RxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet) {
  size_t dataLen, n1, n2, n3, n4, n5, nv = 0;
  RxBurstArgs a;
  a.data = TypedData<uint8_t>(info[0], &dataLen, "data");
  a.off = TypedData<uint32_t>(info[1], &n1, "offset");
  a.len = TypedData<uint32_t>(info[2], &n2, "length");
  a.wire = TypedData<uint32_t>(info[3], &n3, "wireLength");
  a.tsSec = TypedData<double>(info[4], &n4, "tsSec");
  a.tsNsec = TypedData<uint32_t>(info[5], &n5, "tsNsec");
  a.start = U32(info[6]);
  a.max = U32(info[7]);
  a.slotSize = U32(info[8]);
  a.headroom = U32(info[9]);
  a.dataRoom = U32(info[10]);
  a.vnet = withVnet && info.Length() > 11 && info[11].IsTypedArray() ? TypedData<uint16_t>(info[11], &nv, "vnet") : nullptr;
  size_t cap = n1;
  for (size_t n : {n2, n3, n4, n5}) cap = n < cap ? n : cap;
  if ((uint64_t)cap * a.slotSize > dataLen || a.headroom + a.dataRoom > a.slotSize || a.start > cap || (a.vnet && nv < cap * 6))
    throw Napi::RangeError::New(info.Env(), "rxBurst: batch arrays and slot geometry do not match");
  if (a.max > cap - a.start) a.max = (uint32_t)(cap - a.start);
  return a;
}

TxBurstArgs TxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet) {
  size_t n1, n2, n3, nv = 0;
  TxBurstArgs a;
  a.data = TypedData<uint8_t>(info[0], &a.dataLen, "data");
  a.off = TypedData<uint32_t>(info[1], &n1, "offset");
  a.len = TypedData<uint32_t>(info[2], &n2, "length");
  a.drop = TypedData<uint8_t>(info[3], &n3, "drop");
  a.start = U32(info[4]);
  a.count = U32(info[5]);
  a.vnet = withVnet && info.Length() > 6 && info[6].IsTypedArray() ? TypedData<uint16_t>(info[6], &nv, "vnet") : nullptr;
  size_t cap = n1 < n2 ? n1 : n2;
  if (n3 < cap) cap = n3;
  if (a.start > cap || a.count > cap - a.start || (a.vnet && nv < cap * 6))
    throw Napi::RangeError::New(info.Env(), "txBurst: start/count beyond the batch");
  return a;
}

}  // namespace vtepd

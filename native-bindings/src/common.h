// What the AF_PACKET and TAP wrappers share: the JS-facing calls that do not
// depend on the device (lastTxErrno, startPoll, stopPoll, close) in one CRTP base,
// and the unpacking and bounds checks of the rxBurst/txBurst batch arguments.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "poller.h"

namespace vtepd {

// A typed array argument's data and element count; throws a TypeError naming `what`.
template <typename T>
T* TypedData(const Napi::Value& v, size_t* len, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a typed array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.ElementSize() != sizeof(T)) throw Napi::TypeError::New(v.Env(), std::string(what) + " has the wrong element type");
  Napi::ArrayBuffer ab = ta.ArrayBuffer();
  *len = ta.ElementLength();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(ab.Data()) + ta.ByteOffset());
}

// rxBurst(data, offset, length, wireLength, tsSec, tsNsec, start, max, slotSize, headroom, dataRoom[, vnet])
struct RxBurstArgs {
  uint8_t* data;
  uint32_t *off, *len, *wire;
  double* tsSec;
  uint32_t* tsNsec;
  uint32_t start, max, slotSize, headroom, dataRoom;
  uint16_t* vnet;  // 6 fields a slot, or nullptr (always nullptr unless withVnet)
};
// Checks that the slots fit the slab and clamps max to the batch; RangeError otherwise.
RxBurstArgs RxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet);

// txBurst(data, offset, length, drop, start, count[, vnet])
struct TxBurstArgs {
  uint8_t* data;
  size_t dataLen;
  uint32_t *off, *len;
  uint8_t* drop;
  uint32_t start, count;
  uint16_t* vnet;
};
TxBurstArgs TxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet);

// Base of a port wrapper T (CRTP): T defines Release() (stop polling, close fd_)
// and adds BurstPort::Methods() to its DefineClass list.
template <typename T>
class BurstPort : public Napi::ObjectWrap<T> {
 public:
  BurstPort(const Napi::CallbackInfo& info, const char* kind) : Napi::ObjectWrap<T>(info), kind_(kind) {}

  Napi::Value LastTxErrno(const Napi::CallbackInfo& info) {
    int e = lastTxErrno_;
    lastTxErrno_ = 0;
    return Napi::Number::New(info.Env(), e);
  }
  Napi::Value StartPoll(const Napi::CallbackInfo& info) {
    if (fd_ < 0) throw ClosedError(info.Env());
    if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "startPoll(callback) needs a function");
    poller_.Start(info.Env(), fd_, info[0].As<Napi::Function>(), this->Value());
    return info.Env().Undefined();
  }
  Napi::Value StopPoll(const Napi::CallbackInfo& info) {
    poller_.Stop();
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    static_cast<T*>(this)->Release();
    return info.Env().Undefined();
  }

 protected:
  using Method = typename Napi::ObjectWrap<T>::PropertyDescriptor;
  static std::vector<Method> Methods(std::initializer_list<Method> own) {
    std::vector<Method> m(own);
    m.push_back(Napi::ObjectWrap<T>::InstanceMethod("lastTxErrno", &BurstPort::LastTxErrno));
    m.push_back(Napi::ObjectWrap<T>::InstanceMethod("startPoll", &BurstPort::StartPoll));
    m.push_back(Napi::ObjectWrap<T>::InstanceMethod("stopPoll", &BurstPort::StopPoll));
    m.push_back(Napi::ObjectWrap<T>::InstanceMethod("close", &BurstPort::Close));
    return m;
  }
  // "<kind> '<ifname>' is closed", thrown by every call on a closed port.
  Napi::Error ClosedError(Napi::Env env) const { return Napi::Error::New(env, std::string(kind_) + " '" + ifname_ + "' is closed"); }

  const char* kind_;
  int fd_ = -1;
  std::string ifname_;
  // Counted here, read (and reset) by stats().
  double oversize_ = 0;
  int lastTxErrno_ = 0;
  Poller poller_;
};

}  // namespace vtepd

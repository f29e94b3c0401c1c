// What the AF_PACKET and TAP wrappers share: the JS-facing calls that do not
// depend on the device (lastTxErrno, startPoll, stopPoll, close) in one CRTP base,
// and the unpacking and bounds checks of the rxBurst/txBurst batch arguments.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "batch_view.h"
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

// rxBurst(view, start, max[, vnet]) / txBurst(view, start, count[, vnet]): the
// batch travels as its BatchView (batch_view.h), whose pointers were taken once
// when the view was made and stay valid while it lives (it holds the batch), so a
// burst unpacks two numbers and at most one typed array (vnet: 6 u16 a slot).
struct BurstArgs {
  BatchView* b;
  uint32_t start;
  uint32_t n;      // rx: room (max clamped to the batch); tx: count
  uint16_t* vnet;  // nullptr unless withVnet and given
};
// RangeError when start/max leave the batch (rx clamps max to the capacity).
BurstArgs RxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet);
BurstArgs TxBurstArgsFrom(const Napi::CallbackInfo& info, bool withVnet);

// Alive frames (drop[i] == 0) among [i, end): what a burst that stops at i leaves unsent.
inline uint32_t AliveIn(const BatchView& b, uint32_t i, uint32_t end) {
  uint32_t n = 0;
  for (; i < end; i++) n += b.drop[i] == 0;
  return n;
}

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
  // Of the frames the last txBurst did not send, how many found the queue/ring full
  // (backpressure); the others were refused (errors). Read on the slow path only.
  Napi::Value LastTxFull(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), txFullFrames_); }
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
    m.push_back(Napi::ObjectWrap<T>::InstanceMethod("lastTxFull", &BurstPort::LastTxFull));
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
  double txFullEvents_ = 0;  // times a burst found the TX ring / socket buffer / tun queue full
  int lastTxErrno_ = 0;
  uint32_t txFullFrames_ = 0;  // set by each txBurst
  Poller poller_;
};

}  // namespace vtepd

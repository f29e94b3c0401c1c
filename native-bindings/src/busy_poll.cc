// Busy polling of AF_PACKET RX rings: `new RxPollSet([afPacket, ...])`, then
// `set.wait(budgetUs)` returns the index of the first port whose ring holds a
// frame, or -1 once the budget is spent. Readiness is one memory read per ring
// (no syscall); between rounds the thread yields (sched_yield), so any other
// runnable task on this core (the softirq that fills the ring, a VM's process)
// runs first. A sleeping process costs a wake-up (an IPI on another core, tens to
// hundreds of µs on a VM) per hop; a polling one answers in about a microsecond.
#include <napi.h>
#include <sched.h>
#include <time.h>

#include <vector>

#include "af_packet.h"

namespace vtepd {

class RxPollSet : public Napi::ObjectWrap<RxPollSet> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("RxPollSet", DefineClass(env, "RxPollSet", {InstanceMethod("wait", &RxPollSet::Wait)}));
  }
  explicit RxPollSet(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RxPollSet>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "RxPollSet(ports) needs an array of AfPacket objects");
    Napi::Array a = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      AfPacket* p = AfPacket::From(a.Get(i));
      if (p == nullptr) throw Napi::TypeError::New(env, "RxPollSet: element " + std::to_string(i) + " is not an AfPacket");
      ports_.push_back(p);
    }
    keep_ = Napi::Persistent(a);  // the ports stay alive while the set does
  }

 private:
  static uint64_t NowNs() {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
  }
  // wait(budgetUs) -> index of a port with a frame ready, or -1.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    double budget = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    uint64_t deadline = NowNs() + (uint64_t)(budget > 0 ? budget * 1000 : 0);
    size_t n = ports_.size();
    for (;;) {
      for (size_t i = 0; i < n; i++)
        if (ports_[i]->RxReady()) return Napi::Number::New(info.Env(), (double)i);
      if (NowNs() >= deadline) return Napi::Number::New(info.Env(), -1);
      sched_yield();
    }
  }

  std::vector<AfPacket*> ports_;
  Napi::Reference<Napi::Array> keep_;
};

void InitBusyPoll(Napi::Env env, Napi::Object exports) { RxPollSet::Init(env, exports); }

}  // namespace vtepd

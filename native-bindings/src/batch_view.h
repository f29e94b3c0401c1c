// BatchView: the native side of one PacketBatch (src/batch/packet-batch.ts).
// Made once per batch (`new addon.BatchView(batch)`), it holds the data
// pointers of the slab and of every metadata array, so a per-batch call
// (encap, decap, learn/lookup) crosses into C with two object arguments and a
// count instead of unpacking twenty typed arrays each time. The JS batch is
// held by a strong reference: its arrays cannot be collected while the view
// lives, and V8 never moves a typed array's backing store once its buffer has
// been handed out (which the constructor does).
#pragma once
#include <napi.h>

#include <cstdint>

namespace vtepd {

class BatchView : public Napi::ObjectWrap<BatchView> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit BatchView(const Napi::CallbackInfo& info);
  // The BatchView behind a JS argument; TypeError naming `what` otherwise.
  static BatchView* From(const Napi::Value& v, const char* what);

  uint8_t* data = nullptr;
  size_t dataLen = 0;
  uint32_t capacity = 0, slotSize = 0, headroom = 0, dataRoom = 0;
  uint32_t *offset = nullptr, *length = nullptr, *wireLength = nullptr;
  double* tsSec = nullptr;
  uint32_t* tsNsec = nullptr;
  uint16_t* inPort = nullptr;
  int32_t *outPort = nullptr, *vni = nullptr;
  uint8_t* drop = nullptr;
  uint16_t* flags = nullptr;
  int32_t *l2 = nullptr, *l3 = nullptr, *l4 = nullptr, *innerL2 = nullptr;
  uint32_t *remoteAddr = nullptr, *entropy = nullptr;

  // Frame i lies inside slot i: [i*slotSize, (i+1)*slotSize). Every native
  // stage checks this before touching a frame (JS may have written anything).
  bool FrameInSlot(uint32_t i) const {
    uint64_t lo = (uint64_t)i * slotSize, o = offset[i];
    return o >= lo && o + length[i] <= lo + slotSize;
  }
  // Bytes of headroom in front of frame i (valid only when FrameInSlot(i)).
  uint32_t Headroom(uint32_t i) const { return offset[i] - i * slotSize; }
  // The batch's count argument checked against the capacity (RangeError otherwise).
  uint32_t CheckCount(const Napi::Value& v) const;

  static constexpr uint16_t kDecapped = 1 << 0, kRemoteV6 = 1 << 1, kFlood = 1 << 2, kTruncated = 1 << 3;  // PacketFlag
  static constexpr int32_t kNone = -1;

 private:
  Napi::ObjectReference batch_;
};

}  // namespace vtepd

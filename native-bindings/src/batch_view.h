// BatchView: the native side of one PacketBatch (src/batch/packet-batch.ts).
// Made once per batch (`new addon.BatchView(batch)`), it holds the data
// pointers of the slab and of every metadata array, so a per-batch call
// (encap, decap, learn/lookup) crosses into C with two object arguments and a
// count instead of unpacking twenty typed arrays each time. The JS batch is
// held by a strong reference: its arrays cannot be collected while the view
// lives, and V8 never moves a typed array's backing store once its buffer has
// been handed out (which the constructor does).
//
// The fields are the ones src/batch/packet-batch.ts lists in BATCH_FIELDS,
// through the generated contract (VTEPD_BATCH_FIELDS): adding a field there
// adds it here.
//
// One rule for every native core: a typed array handed to C is bound ONCE
// (constructor or bind call): its data pointer is cached and the array is
// held by a strong reference, never fetched again per call. V8 does not move
// a backing store whose pointer was taken; the arrays a stage hands over are
// its own and are never transferred or detached (nothing in vtepd does), and
// a stage that replaces an array binds the new one (BridgeStage.grow).
#pragma once
#include <napi.h>

#include <cstdint>

#include "generated/contract.h"

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
#define VTEPD_BV_MEMBER(name, type, perPacket) type* name = nullptr;
  VTEPD_BATCH_FIELDS(VTEPD_BV_MEMBER)
#undef VTEPD_BV_MEMBER

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

  // PacketFlag and NONE under their older names (contract.h VTEPD_FLAG_* / VTEPD_NONE).
  static constexpr uint16_t kDecapped = VTEPD_FLAG_DECAPPED, kRemoteV6 = VTEPD_FLAG_REMOTE_V6, kFlood = VTEPD_FLAG_FLOOD,
                            kTruncated = VTEPD_FLAG_TRUNCATED;
  static constexpr int32_t kNone = VTEPD_NONE;

 private:
  Napi::ObjectReference batch_;
};

}  // namespace vtepd

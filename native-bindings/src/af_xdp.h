#pragma once
#include <napi.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <vector>

#include "common.h"

namespace vtepd {

// One AF_XDP socket on one interface queue, with its own UMEM: fill/completion
// and RX/TX rings sized from the options. The first `fillSize` UMEM frames
// serve RX (always either in the fill ring, with the kernel, or in the RX
// ring), the rest TX (a free stack refilled from the completion ring).
// rxBurst/txBurst take a BatchView and cross into C once per batch; TX makes
// at most one sendto() (the kick) per batch, none when the kernel does not ask
// for one (need_wakeup). Frames are copied into/out of the UMEM: vtepd's batch
// slab is the working memory, the UMEM is the kernel's.
class AfXdp : public BurstPort<AfXdp> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit AfXdp(const Napi::CallbackInfo& info);
  ~AfXdp() override;
  void Release();

 private:
  Napi::Value RxBurst(const Napi::CallbackInfo& info);
  Napi::Value TxBurst(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  int Create(uint16_t bindFlags, const struct xsk_umem_config& uc, const struct xsk_socket_config& sc);
  void DestroySocket();
  void ReclaimTx();
  uint32_t Kick(uint32_t queued);

  // Slots of the io Float64Array each burst writes (read by JS without a result object).
  enum Io { kRxBytes, kTxBytes, kTxRingFull, kTxOversize, kTxBadMeta, kTxErrors, kIoSlots };
  int ifindex_ = 0;
  uint32_t queue_ = 0;
  uint8_t* area_ = nullptr;
  size_t areaLen_ = 0;
  uint32_t frameSize_ = 2048, frameCount_ = 0, rxFrames_ = 0, maxTxLen_ = 0;
  struct xsk_umem* umem_ = nullptr;
  struct xsk_socket* xsk_ = nullptr;
  struct xsk_ring_prod fq_, tx_;
  struct xsk_ring_cons cq_, rx_;
  std::vector<uint64_t> txFree_;  // free TX frame addresses (a stack: the last completed is cache-hot)
  uint32_t txFreeN_ = 0;
  bool zeroCopy_ = false, needWakeup_ = true;
  Napi::ObjectReference program_;  // the XskProgram whose map holds this socket: kept alive
  double* io_ = nullptr;           // io Float64Array: per-call results read by JS without an object
  Napi::ObjectReference ioRef_;
  struct xdp_statistics last_ = {};  // kernel counters are totals: stats() reports deltas
  // Our own counts since the last stats() (oversize_ is in BurstPort).
  double txRingFull_ = 0, txOversize_ = 0, txBadMeta_ = 0, txKicks_ = 0, txKickErrors_ = 0, rxWakeups_ = 0, batches_ = 0;
};

}  // namespace vtepd

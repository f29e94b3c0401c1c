// AF_XDP port, the per-batch calls: rxBurst and txBurst on a BatchView (see af_xdp.h).
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include <cstring>

#include "af_xdp.h"
#include "batch_view.h"

namespace vtepd {

// rxBurst(view, start, max, inPort) -> frames copied into slots start..; metadata reset as
// PacketBatch.resetMeta does, inPort set; io[0] = their bytes. RX frames go straight back
// to the fill ring (they were copied).
Napi::Value AfXdp::RxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (xsk_ == nullptr) throw ClosedError(env);
  BatchView* v = BatchView::From(info[0], "rxBurst(view)");
  uint32_t start = info[1].As<Napi::Number>().Uint32Value();
  uint32_t max = info[2].As<Napi::Number>().Uint32Value();
  uint16_t inPort = (uint16_t)info[3].As<Napi::Number>().Uint32Value();
  if (start > v->capacity) throw Napi::RangeError::New(env, "rxBurst: start beyond the batch");
  if (max > v->capacity - start) max = v->capacity - start;
  io_[kRxBytes] = 0;
  uint32_t ridx = 0, fidx = 0;
  uint32_t n = max == 0 ? 0 : xsk_ring_cons__peek(&rx_, max, &ridx);
  if (n > 0) {
    // Room is certain (the fill ring holds every RX frame); should it not be, keep the rest for later.
    uint32_t f = xsk_ring_prod__reserve(&fq_, n, &fidx);
    if (f < n) {
      xsk_ring_cons__cancel(&rx_, n - f);
      n = f;
    }
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint32_t got = 0;
  double bytes = 0;
  const uint64_t mask = ~(uint64_t)(frameSize_ - 1);
  for (uint32_t k = 0; k < n; k++) {
    const struct xdp_desc* d = xsk_ring_cons__rx_desc(&rx_, ridx + k);
    uint64_t addr = d->addr;
    uint32_t len = d->len;
    *xsk_ring_prod__fill_addr(&fq_, fidx + k) = addr & mask;
    if (len < 14 || len > v->dataRoom || addr + len > areaLen_) {
      oversize_++;
      continue;
    }
    uint32_t i = start + got++;
    uint32_t off = i * v->slotSize + v->headroom;
    std::memcpy(v->data + off, area_ + addr, len);
    v->offset[i] = off;
    v->length[i] = len;
    v->wireLength[i] = len;
    v->tsSec[i] = (double)ts.tv_sec;
    v->tsNsec[i] = (uint32_t)ts.tv_nsec;
    v->inPort[i] = inPort;
    // PacketBatch.resetMeta (src/batch/packet-batch.ts), so JS need not loop over the frames.
    v->outPort[i] = BatchView::kNone;
    v->vni[i] = BatchView::kNone;
    v->drop[i] = 0;
    v->flags[i] = 0;
    v->l2[i] = 0;
    v->l3[i] = v->l4[i] = v->innerL2[i] = BatchView::kNone;
    v->entropy[i] = 0;
    std::memset(v->remoteAddr + (size_t)i * 4, 0, 16);
    bytes += len;
  }
  if (n > 0) {
    xsk_ring_prod__submit(&fq_, n);
    xsk_ring_cons__release(&rx_, n);
    batches_++;
  }
  // Zero-copy drivers may sleep until asked to refill; copy mode never sets this.
  if (needWakeup_ && xsk_ring_prod__needs_wakeup(&fq_)) {
    recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    rxWakeups_++;
  }
  io_[kRxBytes] = bytes;
  return Napi::Number::New(env, got);
}

void AfXdp::ReclaimTx() {
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&cq_, (uint32_t)txFree_.size(), &idx);
  const uint64_t mask = ~(uint64_t)(frameSize_ - 1);
  for (uint32_t k = 0; k < n && txFreeN_ < txFree_.size(); k++) txFree_[txFreeN_++] = *xsk_ring_cons__comp_addr(&cq_, idx + k) & mask;
  if (n > 0) xsk_ring_cons__release(&cq_, n);
}

// One sendto() when the kernel wants it (copy mode always does); more only on kernels
// where a copy-mode kick sends at most 32 frames. Returns frames a hard error left unsent.
uint32_t AfXdp::Kick(uint32_t queued) {
  if (needWakeup_ && !xsk_ring_prod__needs_wakeup(&tx_)) return 0;
  uint32_t tries = zeroCopy_ ? 1 : queued / 32 + 2;
  for (uint32_t t = 0; t < tries; t++) {
    txKicks_++;
    int r = sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
    uint32_t pending = *tx_.producer - __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE);
    if (r >= 0 && (pending == 0 || zeroCopy_)) return 0;
    int e = r < 0 ? errno : EAGAIN;
    if (e == EAGAIN && pending > 0 && !zeroCopy_) continue;  // copy-mode budget used up: more to send
    if (e == EAGAIN || e == EBUSY || e == ENOBUFS || e == EINTR) return 0;  // the ring keeps them; the next kick sends
    txKickErrors_++;
    lastTxErrno_ = e;
    return pending < queued ? pending : queued;
  }
  return 0;
}

// txBurst(view, start, count) -> frames queued on the TX ring (alive ones: drop[i] == 0).
// io[1] = their bytes; io[2..5] = frames not sent: TX ring/UMEM full, oversize, bad metadata, send error.
Napi::Value AfXdp::TxBurst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (xsk_ == nullptr) throw ClosedError(env);
  BatchView* v = BatchView::From(info[0], "txBurst(view)");
  uint32_t start = info[1].As<Napi::Number>().Uint32Value();
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  if (start > v->capacity || count > v->capacity - start) throw Napi::RangeError::New(env, "txBurst: start/count beyond the batch");
  ReclaimTx();
  uint32_t idx = 0;
  uint32_t want = count < txFreeN_ ? count : txFreeN_;
  uint32_t ringFree = want == 0 ? 0 : xsk_prod_nb_free(&tx_, want);  // reserve() is all-or-nothing
  if (want > ringFree) want = ringFree;
  uint32_t room = want == 0 ? 0 : xsk_ring_prod__reserve(&tx_, want, &idx);
  uint32_t q = 0, full = 0, over = 0, bad = 0;
  double bytes = 0;
  for (uint32_t i = start, end = start + count; i < end; i++) {
    if (v->drop[i] != 0) continue;
    if (!v->FrameInSlot(i)) {
      bad++;
      continue;
    }
    uint32_t len = v->length[i];
    if (len == 0 || len > maxTxLen_) {
      over++;
      continue;
    }
    if (q == room) {
      full++;
      continue;
    }
    uint64_t addr = txFree_[--txFreeN_];
    std::memcpy(area_ + addr, v->data + v->offset[i], len);
    struct xdp_desc* d = xsk_ring_prod__tx_desc(&tx_, idx + q);
    d->addr = addr;
    d->len = len;
    d->options = 0;
    q++;
    bytes += len;
  }
  tx_.cached_prod -= room - q;  // hand back what was reserved but not used
  uint32_t failed = 0;
  if (q > 0) {
    xsk_ring_prod__submit(&tx_, q);
    failed = Kick(q);
    batches_++;
  }
  txRingFull_ += full;
  txOversize_ += over;
  txBadMeta_ += bad;
  io_[kTxBytes] = bytes;
  io_[kTxRingFull] = full;
  io_[kTxOversize] = over;
  io_[kTxBadMeta] = bad;
  io_[kTxErrors] = failed;
  return Napi::Number::New(env, q - failed);
}

}  // namespace vtepd

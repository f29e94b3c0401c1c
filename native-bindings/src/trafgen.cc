// xdpLiveFrames(options): an in-kernel frame generator for the live benchmark.
// Loads vtepd_trafgen.bpf.o (XDP_TX of every frame) and runs it with BPF_PROG_RUN
// and BPF_F_TEST_XDP_LIVE_FRAMES against one interface of the caller's network
// namespace: the kernel builds `repeat` frames from the template and transmits them
// in batches of batchSize, about 6 M frames/s on one core here. Blocks the calling
// thread for `seconds` (run it in a child process pinned to its own core).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <napi.h>
#include <time.h>

#include <cstring>
#include <string>

#include "errors.h"

namespace vtepd {

static double NowSec() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// xdpLiveFrames({object, interface, frame: Buffer, seconds, batchSize?})
//   -> {sent, seconds}  (sent: frames the program ran on and handed to the interface)
// As fast as the kernel goes, in runs of 200,000 frames. There is no pacing: a run
// costs ~0.5 ms to set up (a page pool per call), so small paced runs top out near
// 30,000 frames/s and large ones arrive as bursts.
static Napi::Value XdpLiveFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "xdpLiveFrames(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("object").IsString() || !o.Get("interface").IsString() || !o.Get("frame").IsBuffer() || !o.Get("seconds").IsNumber())
    throw Napi::TypeError::New(env, "xdpLiveFrames needs object, interface (strings), frame (Buffer) and seconds (number)");
  std::string path = o.Get("object").As<Napi::String>().Utf8Value();
  std::string ifname = o.Get("interface").As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> frame = o.Get("frame").As<Napi::Buffer<uint8_t>>();
  double seconds = o.Get("seconds").As<Napi::Number>().DoubleValue();

  uint32_t batch = o.Get("batchSize").IsNumber() ? o.Get("batchSize").As<Napi::Number>().Uint32Value() : 64;
  if (frame.Length() < 14 || frame.Length() > 3000) throw Napi::RangeError::New(env, "frame must be 14..3000 bytes");
  if (!(seconds > 0) || batch == 0 || batch > 256) throw Napi::RangeError::New(env, "seconds > 0, batchSize 1..256");
  const uint32_t chunk = 200000;
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) ThrowErrno(env, errno, "if_nametoindex", "the generator's interface '" + ifname + "'", ifname);

  struct bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
  if (obj == nullptr) ThrowErrno(env, errno, "bpf_object__open_file", path + " (build it with npm run build:native)", "");
  int err = bpf_object__load(obj);
  if (err != 0) {
    bpf_object__close(obj);
    ThrowErrno(env, -err, "bpf_object__load", path, "");
  }
  struct bpf_program* prog = bpf_object__find_program_by_name(obj, "vtepd_trafgen");
  int fd = prog != nullptr ? bpf_program__fd(prog) : -1;
  if (fd < 0) {
    bpf_object__close(obj);
    throw Napi::Error::New(env, path + " has no program vtepd_trafgen");
  }
  struct xdp_md ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.data_end = frame.Length();
  ctx.ingress_ifindex = ifindex;
  double sent = 0;
  double t0 = NowSec(), end = t0 + seconds, now = t0;
  while (now < end) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.Data(), .data_size_in = (uint32_t)frame.Length(), .ctx_in = &ctx,
                .ctx_size_in = sizeof ctx, .repeat = (int)chunk, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
    err = bpf_prog_test_run_opts(fd, &opts);
    if (err != 0) {
      int e = errno;
      bpf_object__close(obj);
      ThrowErrno(env, e, "bpf_prog_test_run_opts", "XDP live frames on '" + ifname + "' (Linux >= 5.18; the veth peer needs an XDP program or GRO)", ifname);
    }
    sent += chunk;
    now = NowSec();
  }
  bpf_object__close(obj);
  Napi::Object r = Napi::Object::New(env);
  r.Set("sent", Napi::Number::New(env, sent));
  r.Set("seconds", Napi::Number::New(env, now - t0));
  return r;
}

void InitTrafgen(Napi::Env env, Napi::Object exports) {
  exports.Set("xdpLiveFrames", Napi::Function::New(env, XdpLiveFrames));
}

}  // namespace vtepd

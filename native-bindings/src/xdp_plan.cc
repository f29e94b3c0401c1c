// XdpPlan: the xdp offload plan's programs and maps (native-bindings/bpf/vtepd_xdp.bpf.c).
// Loads the object once, fills its maps for vtepd, runs a program on a frame with
// BPF_PROG_RUN (test mode: exact, no timing; what the tests drive), and attaches a
// program to an interface through a bpf_link (closing the link or the process
// detaches it: a stopped vtepd leaves nothing attached).
//
//   const p = new XdpPlan({ object });
//   p.setConfig({ localIp, underlaySlot, udpPort, mtu, sportMin, sportMax });
//   p.setVni(vni, domain, tunnel?) or p.setDomain(domain, vni, type, udpPort, tunnelHeader, opts?);
//   p.setPort(ifindex, domain, slot); p.setSlot(slot, ifindex);
//   p.setRemote(index, ip, header); p.setFdb(domain, mac, at, target); p.delFdb(domain, mac)
//   tunnel = { type: 'vxlan'|'geneve'|'nvgre', geneveOptions?: [{optClass, type, data}], flowId?: n|'hash' }
//   header = the remote's outer Ethernet + IPv4 (34 bytes, or 42 with a UDP header) or
//            Ethernet + IPv6 (54, or 62), for any tunnel type
//   p.fdb() -> [{domain, mac, at, target, lastSeenNs}]; p.counters() -> number[]
//   p.testRun('underlay' | 'port', frame, ingressIfindex) -> { action, frame }
//   p.attach('underlay' | 'port', ifname, mode?) -> link id; p.detach(id); p.close()
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <napi.h>
#include <net/if.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "../bpf/vtepd_xdp.h"
#include "errors.h"
#include "xdp_iface.h"
#include "xdp_plan_tunnel.h"

namespace vtepd {

class XdpPlan : public Napi::ObjectWrap<XdpPlan> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("XdpPlan", DefineClass(env, "XdpPlan", {
      InstanceMethod("setConfig", &XdpPlan::SetConfig),
      InstanceMethod("setVni", &XdpPlan::SetVni),
      InstanceMethod("setDomain", &XdpPlan::SetDomain),
      InstanceMethod("setPort", &XdpPlan::SetPort),
      InstanceMethod("setSlot", &XdpPlan::SetSlot),
      InstanceMethod("setRemote", &XdpPlan::SetRemote),
      InstanceMethod("setFdb", &XdpPlan::SetFdb),
      InstanceMethod("delFdb", &XdpPlan::DelFdb),
      InstanceMethod("fdb", &XdpPlan::Fdb),
      InstanceMethod("counters", &XdpPlan::Counters),
      InstanceMethod("testRun", &XdpPlan::TestRun),
      InstanceMethod("attach", &XdpPlan::Attach),
      InstanceMethod("detach", &XdpPlan::Detach),
      InstanceMethod("close", &XdpPlan::Close),
    }));
  }

  explicit XdpPlan(const Napi::CallbackInfo& info) : Napi::ObjectWrap<XdpPlan>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().Get("object").IsString())
      throw Napi::TypeError::New(env, "XdpPlan({object}) needs the path of vtepd_xdp.bpf.o");
    std::string path = info[0].As<Napi::Object>().Get("object").As<Napi::String>().Utf8Value();
    obj_ = bpf_object__open_file(path.c_str(), nullptr);
    if (obj_ == nullptr) ThrowErrno(env, errno, "bpf_object__open_file", path + " (build it with npm run build:native)", "");
    int err = bpf_object__load(obj_);
    if (err != 0) {
      bpf_object__close(obj_);
      obj_ = nullptr;
      ThrowErrno(env, -err, "bpf_object__load", path + " (the verifier refused it, or no CAP_BPF)", "");
    }
  }
  ~XdpPlan() override { Release(); }

 private:
  struct bpf_object* obj_ = nullptr;
  std::map<int, struct bpf_link*> links_;
  std::map<int, int> fds_;  // generic-mode links by their fd
  int nextLink_ = 1;

  void Release() {
    for (auto& l : links_) bpf_link__destroy(l.second);
    links_.clear();
    for (auto& f : fds_) close(f.second);
    fds_.clear();
    if (obj_ != nullptr) bpf_object__close(obj_);
    obj_ = nullptr;
  }
  int MapFd(Napi::Env env, const char* name) {
    if (obj_ == nullptr) throw Napi::Error::New(env, "XdpPlan is closed");
    int fd = bpf_object__find_map_fd_by_name(obj_, name);
    if (fd < 0) throw Napi::Error::New(env, std::string("vtepd_xdp.bpf.o has no map ") + name);
    return fd;
  }
  struct bpf_program* Prog(Napi::Env env, const Napi::Value& which) {
    if (obj_ == nullptr) throw Napi::Error::New(env, "XdpPlan is closed");
    std::string w = which.IsString() ? which.As<Napi::String>().Utf8Value() : "";
    if (w != "underlay" && w != "port") throw Napi::RangeError::New(env, "program must be 'underlay' or 'port'");
    struct bpf_program* p = bpf_object__find_program_by_name(obj_, w == "underlay" ? "vtepd_xdp_underlay" : "vtepd_xdp_port");
    if (p == nullptr) throw Napi::Error::New(env, "vtepd_xdp.bpf.o lacks program " + w);
    return p;
  }
  static uint32_t U32(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Uint32Value(); }
  static void Update(Napi::Env env, int fd, const void* k, const void* v, const char* what) {
    if (bpf_map_update_elem(fd, k, v, BPF_ANY) != 0) ThrowErrno(env, errno, "bpf_map_update_elem", what, "");
  }
  static void Mac(Napi::Env env, const Napi::Value& v, uint8_t out[6]) {
    std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    unsigned b[6];
    if (sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) throw Napi::TypeError::New(env, "a MAC like 02:00:00:00:00:01");
    for (int i = 0; i < 6; i++) out[i] = (uint8_t)b[i];
  }

  Napi::Value SetConfig(const Napi::CallbackInfo& info) {
    Napi::Object o = info[0].As<Napi::Object>();
    struct vtepd_xdp_config c;
    memset(&c, 0, sizeof c);
    // An IPv6-only underlay gives localIp6 alone (localIp then 0.0.0.0: no IPv4 frame is ours).
    c.local_ip = o.Has("localIp6") && o.Get("localIp").IsUndefined() ? 0 : XdpIp4(info.Env(), o.Get("localIp"));
    c.underlay_slot = U32(o, "underlaySlot");
    c.udp_port = (uint16_t)U32(o, "udpPort");
    c.mtu = (uint16_t)U32(o, "mtu");
    c.sport_min = (uint16_t)U32(o, "sportMin");
    c.sport_max = (uint16_t)U32(o, "sportMax");
    c.geneve_port = o.Has("genevePort") && o.Get("genevePort").IsNumber() ? (uint16_t)U32(o, "genevePort") : 6081;
    if (o.Has("localIp6") && !o.Get("localIp6").IsUndefined()) XdpIp6(info.Env(), o.Get("localIp6"), c.local_ip6);
    c.zero_csum6_rx = o.Has("zeroCsum6Rx") && o.Get("zeroCsum6Rx").ToBoolean() ? 1 : 0;
    uint32_t zero = 0;
    Update(info.Env(), MapFd(info.Env(), "xdp_config"), &zero, &c, "xdp config");
    return info.Env().Undefined();
  }
  // setVni(vni, domain, tunnel?): the domain's VNI (VSID for NVGRE), tunnel type and
  // tunnel header, built once (xdp_plan_tunnel.h).
  Napi::Value SetVni(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t vni = info[0].As<Napi::Number>().Uint32Value(), dom = info[1].As<Napi::Number>().Uint32Value();
    if (vni > 0xffffff || dom >= VTEPD_XDP_MAX_VNIS) throw Napi::RangeError::New(env, "VNI 0..16777215, domain below 4096");
    struct vtepd_xdp_domain d;
    XdpDomainEntry(env, vni, info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env), &d);
    Update(env, MapFd(env, "vni_domain"), &vni, &dom, "vni_domain");
    Update(env, MapFd(env, "domains"), &dom, &d, "domains");
    return env.Undefined();
  }
  // setDomain(domain, vni, type, udpPort, header, opts?): the tunnel header as the encap stage
  // writes it; opts = { udpCsum?, zeroCsum6Tx? } (the outer UDP checksum, as EncapConfig).
  Napi::Value SetDomain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t dom = info[0].As<Napi::Number>().Uint32Value(), vni = info[1].As<Napi::Number>().Uint32Value();
    if (vni > 0xffffff || dom >= VTEPD_XDP_MAX_VNIS) throw Napi::RangeError::New(env, "VNI 0..16777215, domain below 4096");
    std::string type = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    struct vtepd_xdp_domain d;
    XdpDomainRaw(env, vni, type, info[3].As<Napi::Number>().Uint32Value(), info[4], info.Length() > 5 && info[5].IsObject() ? info[5].As<Napi::Object>() : Napi::Object::New(env), &d);
    Update(env, MapFd(env, "vni_domain"), &vni, &dom, "vni_domain");
    Update(env, MapFd(env, "domains"), &dom, &d, "domains");
    return env.Undefined();
  }
  Napi::Value SetPort(const Napi::CallbackInfo& info) {
    uint32_t ifindex = info[0].As<Napi::Number>().Uint32Value();
    struct vtepd_xdp_port p = {info[1].As<Napi::Number>().Uint32Value(), info[2].As<Napi::Number>().Uint32Value()};
    Update(info.Env(), MapFd(info.Env(), "ports"), &ifindex, &p, "ports");
    return info.Env().Undefined();
  }
  Napi::Value SetSlot(const Napi::CallbackInfo& info) {
    uint32_t slot = info[0].As<Napi::Number>().Uint32Value(), ifindex = info[1].As<Napi::Number>().Uint32Value();
    if (slot >= VTEPD_XDP_MAX_PORTS) throw Napi::RangeError::New(info.Env(), "devmap slot below 64");
    Update(info.Env(), MapFd(info.Env(), "tx_ports"), &slot, &ifindex, "tx_ports (the interface must exist)");
    return info.Env().Undefined();
  }
  // setRemote(index, ip, header: Buffer): see XdpRemoteEntry (xdp_plan_tunnel.h).
  Napi::Value SetRemote(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t idx = info[0].As<Napi::Number>().Uint32Value();
    if (idx >= VTEPD_XDP_MAX_REMOTES) throw Napi::RangeError::New(env, "remote index below 256");
    struct vtepd_xdp_remote r;
    XdpRemoteEntry(env, info[1], info[2], &r);
    Update(env, MapFd(env, "remotes"), &idx, &r, "remotes");
    return env.Undefined();
  }
  Napi::Value SetFdb(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct vtepd_xdp_fdb_key k;
    memset(&k, 0, sizeof k);
    k.domain = info[0].As<Napi::Number>().Uint32Value();
    Mac(env, info[1], k.mac);
    struct vtepd_xdp_fdb_val v;
    memset(&v, 0, sizeof v);
    std::string at = info[2].As<Napi::String>().Utf8Value();
    if (at != "port" && at != "remote") throw Napi::RangeError::New(env, "at must be 'port' or 'remote'");
    v.at = at == "port" ? VTEPD_XDP_AT_PORT : VTEPD_XDP_AT_REMOTE;
    v.target = info[3].As<Napi::Number>().Uint32Value();
    Update(env, MapFd(env, "fdb"), &k, &v, "fdb (full at 65536 entries)");
    return env.Undefined();
  }
  Napi::Value DelFdb(const Napi::CallbackInfo& info) {
    struct vtepd_xdp_fdb_key k;
    memset(&k, 0, sizeof k);
    k.domain = info[0].As<Napi::Number>().Uint32Value();
    Mac(info.Env(), info[1], k.mac);
    return Napi::Boolean::New(info.Env(), bpf_map_delete_elem(MapFd(info.Env(), "fdb"), &k) == 0);
  }
  Napi::Value Fdb(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = MapFd(env, "fdb");
    Napi::Array out = Napi::Array::New(env);
    struct vtepd_xdp_fdb_key k, next;
    void* prev = nullptr;
    uint32_t n = 0;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
      struct vtepd_xdp_fdb_val v;
      if (bpf_map_lookup_elem(fd, &next, &v) == 0) {
        char mac[18];
        snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", next.mac[0], next.mac[1], next.mac[2], next.mac[3], next.mac[4], next.mac[5]);
        Napi::Object e = Napi::Object::New(env);
        e.Set("domain", next.domain);
        e.Set("mac", mac);
        e.Set("at", v.at == VTEPD_XDP_AT_PORT ? "port" : "remote");
        e.Set("target", v.target);
        e.Set("lastSeenNs", Napi::Number::New(env, (double)v.last_seen_ns));
        out.Set(n++, e);
      }
      k = next;
      prev = &k;
    }
    return out;
  }
  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = MapFd(env, "counters");
    Napi::Array out = Napi::Array::New(env, VTEPD_XDP_C_COUNT);
    for (uint32_t i = 0; i < VTEPD_XDP_C_COUNT; i++) out.Set(i, Napi::Number::New(env, (double)SumPerCpuSlot(fd, i)));
    return out;
  }
  // testRun(program, frame, ingressIfindex) -> { action, frame }: one BPF_PROG_RUN, no LIVE flag.
  Napi::Value TestRun(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = bpf_program__fd(Prog(env, info[0]));
    if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "frame: a Buffer");
    Napi::Buffer<uint8_t> in = info[1].As<Napi::Buffer<uint8_t>>();
    std::vector<uint8_t> out(in.Length() + 256 + 64);
    struct xdp_md ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.data_end = (uint32_t)in.Length();
    ctx.ingress_ifindex = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.Data(), .data_out = out.data(), .data_size_in = (uint32_t)in.Length(),
                .data_size_out = (uint32_t)out.size(), .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &opts) != 0) ThrowErrno(env, errno, "bpf_prog_test_run_opts", "XDP test run", "");
    Napi::Object r = Napi::Object::New(env);
    static const char* kActions[] = {"aborted", "drop", "pass", "tx", "redirect"};
    r.Set("action", opts.retval < 5 ? kActions[opts.retval] : "unknown");
    r.Set("frame", Napi::Buffer<uint8_t>::Copy(env, out.data(), opts.data_size_out));
    return r;
  }
  // attach(program, ifname, mode?: 'native'|'generic') -> link id
  Napi::Value Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    struct bpf_program* p = Prog(env, info[0]);
    std::string ifname = info[1].As<Napi::String>().Utf8Value();
    int ifindex = (int)if_nametoindex(ifname.c_str());
    if (ifindex == 0) ThrowErrno(env, ENODEV, "if_nametoindex", "XDP on '" + ifname + "'", ifname);
    std::string mode = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "native";
    if (mode == "generic") {
      // A bpf_link in generic (skb) mode: libbpf's attach_xdp has no flags, the raw call does.
      LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = XDP_FLAGS_SKB_MODE);
      int lfd = bpf_link_create(bpf_program__fd(p), ifindex, BPF_XDP, &lo);
      if (lfd < 0) ThrowErrno(env, errno, "bpf_link_create", "generic XDP on '" + ifname + "'", ifname);
      int id = nextLink_++;
      fds_[id] = lfd;
      return Napi::Number::New(env, id);
    }
    struct bpf_link* link = bpf_program__attach_xdp(p, ifindex);
    if (link == nullptr) ThrowErrno(env, errno, "bpf_program__attach_xdp", "XDP on '" + ifname + "' (another program attached? ip link set dev " + ifname + " xdp off)", ifname);
    int id = nextLink_++;
    links_[id] = link;
    return Napi::Number::New(env, id);
  }
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    int id = info[0].As<Napi::Number>().Int32Value();
    auto it = links_.find(id);
    if (it != links_.end()) {
      bpf_link__destroy(it->second);
      links_.erase(it);
      return Napi::Boolean::New(info.Env(), true);
    }
    auto f = fds_.find(id);
    if (f != fds_.end()) {
      close(f->second);
      fds_.erase(f);
      return Napi::Boolean::New(info.Env(), true);
    }
    return Napi::Boolean::New(info.Env(), false);
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }
};

void InitXdpPlan(Napi::Env env, Napi::Object exports) { XdpPlan::Init(env, exports); }

}  // namespace vtepd

// XdpPlan: the xdp offload plan's programs and maps (native-bindings/bpf/vtepd_xdp.bpf.c).
// Loads the object once, fills its maps for vtepd, runs a program on a frame with
// BPF_PROG_RUN (test mode: exact, no timing; what the tests drive), and attaches a
// program to an interface through a bpf_link (closing the link or the process
// detaches it: a stopped vtepd leaves nothing attached).
//
//   const p = new XdpPlan({ object });
//   p.setConfig({ localIp, underlaySlot, udpPort, mtu, sportMin, sportMax });
//   p.setVni(vni, domain, tunnel?); p.setPort(ifindex, domain, slot); p.setSlot(slot, ifindex);
//   p.setRemote(index, ip, header); p.setFdb(domain, mac, at, target); p.delFdb(domain, mac)
//   tunnel = { type: 'vxlan'|'geneve'|'nvgre', geneveOptions?: [{optClass, type, data}], flowId?: n|'hash' }
//   header = outer Ethernet + IPv4 + UDP (42 bytes: VXLAN, GENEVE) or + IPv4 (34: NVGRE),
//            Ethernet + IPv6 + UDP (62) or + IPv6 (54: NVGRE)
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

namespace vtepd {

class XdpPlan : public Napi::ObjectWrap<XdpPlan> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("XdpPlan", DefineClass(env, "XdpPlan", {
      InstanceMethod("setConfig", &XdpPlan::SetConfig),
      InstanceMethod("setVni", &XdpPlan::SetVni),
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
  static uint32_t Ip4(Napi::Env env, const Napi::Value& v) {
    struct in_addr a;
    if (!v.IsString() || inet_pton(AF_INET, v.As<Napi::String>().Utf8Value().c_str(), &a) != 1) throw Napi::TypeError::New(env, "an IPv4 address string");
    return a.s_addr;
  }
  static void Ip6(Napi::Env env, const Napi::Value& v, uint8_t out[16]) {
    if (!v.IsString() || inet_pton(AF_INET6, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) throw Napi::TypeError::New(env, "an IPv6 address string");
  }
  // One's-complement sum of big-endian 16-bit words, folded.
  static uint32_t Sum16(const uint8_t* b, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)((b[i] << 8) | b[i + 1]);
    if (n & 1) sum += (uint32_t)(b[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
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
    c.local_ip = Ip4(info.Env(), o.Get("localIp"));
    c.underlay_slot = U32(o, "underlaySlot");
    c.udp_port = (uint16_t)U32(o, "udpPort");
    c.mtu = (uint16_t)U32(o, "mtu");
    c.sport_min = (uint16_t)U32(o, "sportMin");
    c.sport_max = (uint16_t)U32(o, "sportMax");
    c.geneve_port = o.Has("genevePort") && o.Get("genevePort").IsNumber() ? (uint16_t)U32(o, "genevePort") : 6081;
    if (o.Has("localIp6") && !o.Get("localIp6").IsUndefined()) Ip6(info.Env(), o.Get("localIp6"), c.local_ip6);
    c.zero_csum6_rx = o.Has("zeroCsum6Rx") && o.Get("zeroCsum6Rx").ToBoolean() ? 1 : 0;
    uint32_t zero = 0;
    Update(info.Env(), MapFd(info.Env(), "xdp_config"), &zero, &c, "xdp config");
    return info.Env().Undefined();
  }
  // setVni(vni, domain, tunnel?): the domain's VNI (VSID for NVGRE), tunnel type and
  // tunnel header, built here once (the TypeScript template's bytes: src/tunnel/template.ts).
  Napi::Value SetVni(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t vni = info[0].As<Napi::Number>().Uint32Value(), dom = info[1].As<Napi::Number>().Uint32Value();
    if (vni > 0xffffff || dom >= VTEPD_XDP_MAX_VNIS) throw Napi::RangeError::New(env, "VNI 0..16777215, domain below 4096");
    struct vtepd_xdp_domain d;
    memset(&d, 0, sizeof d);
    d.vni = vni;
    d.type = VTEPD_XDP_T_VXLAN;
    std::string type = "vxlan";
    Napi::Object t = info.Length() > 2 && info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
    if (t.Has("type")) type = t.Get("type").IsString() ? t.Get("type").As<Napi::String>().Utf8Value() : "?";
    uint8_t* b = d.tun;
    b[4] = (uint8_t)(vni >> 16);
    b[5] = (uint8_t)(vni >> 8);
    b[6] = (uint8_t)vni;
    d.tun_len = 8;
    bool hasOpts = t.Has("geneveOptions") && !t.Get("geneveOptions").IsUndefined();
    if (hasOpts && type != "geneve") throw Napi::TypeError::New(env, "geneveOptions need type 'geneve'");
    if (t.Has("flowId") && !t.Get("flowId").IsUndefined() && type != "nvgre") throw Napi::TypeError::New(env, "flowId needs type 'nvgre'");
    // The outer UDP checksum, as EncapConfig: over IPv4 only when asked, over IPv6 unless zeroCsum6Tx.
    d.udp_csum = t.Has("udpCsum") && t.Get("udpCsum").ToBoolean() ? 1 : 0;
    d.udp_csum6 = t.Has("zeroCsum6Tx") && t.Get("zeroCsum6Tx").ToBoolean() ? 0 : 1;
    if (type == "vxlan") {
      b[0] = 0x08;  // I flag
    } else if (type == "nvgre") {
      d.type = VTEPD_XDP_T_NVGRE;
      b[0] = 0x20;  // K=1
      b[2] = 0x65;
      b[3] = 0x58;
      d.flow_hash = 1;
      Napi::Value f = t.Has("flowId") ? t.Get("flowId") : env.Undefined();
      if (f.IsNumber()) {
        uint32_t id = f.As<Napi::Number>().Uint32Value();
        if (id > 255 || f.As<Napi::Number>().DoubleValue() != id) throw Napi::RangeError::New(env, "NVGRE flowId 0..255 or 'hash'");
        d.flow_hash = 0;
        b[7] = (uint8_t)id;
      } else if (!f.IsUndefined() && !(f.IsString() && f.As<Napi::String>().Utf8Value() == "hash")) {
        throw Napi::TypeError::New(env, "NVGRE flowId: 0..255 or 'hash'");
      }
    } else if (type == "geneve") {
      d.type = VTEPD_XDP_T_GENEVE;
      b[2] = 0x65;
      b[3] = 0x58;
      uint32_t q = 8;
      bool critical = false;
      if (hasOpts) {
        if (!t.Get("geneveOptions").IsArray()) throw Napi::TypeError::New(env, "geneveOptions: an array of {optClass, type, data}");
        Napi::Array a = t.Get("geneveOptions").As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++) {
          Napi::Object o = a.Get(i).As<Napi::Object>();
          uint32_t cls = U32(o, "optClass"), ty = U32(o, "type");
          Napi::Value dv = o.Get("data");
          if (!dv.IsTypedArray() || dv.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "GENEVE option data: a Uint8Array");
          Napi::Uint8Array data = dv.As<Napi::Uint8Array>();
          if (cls > 0xffff || ty > 0xff || data.ElementLength() % 4 != 0 || data.ElementLength() > 124) throw Napi::RangeError::New(env, "GENEVE option: class 0..65535, type 0..255, data whole 4-byte words up to 124 bytes");
          if (q + 4 + data.ElementLength() > 8 + 252) throw Napi::RangeError::New(env, "GENEVE options total more than 252 bytes");
          b[q] = (uint8_t)(cls >> 8);
          b[q + 1] = (uint8_t)cls;
          b[q + 2] = (uint8_t)ty;
          b[q + 3] = (uint8_t)(data.ElementLength() >> 2);
          memcpy(b + q + 4, data.Data(), data.ElementLength());
          q += 4 + (uint32_t)data.ElementLength();
          if (ty & 0x80) critical = true;
        }
      }
      b[0] = (uint8_t)((q - 8) >> 2);   // version 0, option length in words
      b[1] = critical ? 0x40 : 0;        // C bit (RFC 8926 3.4)
      d.tun_len = (uint16_t)q;
    } else {
      throw Napi::TypeError::New(env, "tunnel type must be 'vxlan', 'geneve' or 'nvgre'");
    }
    d.tun_sum = Sum16(d.tun, d.tun_len, 0);
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
  // setRemote(index, ip, header: Buffer): the outer Ethernet + IP + UDP header (VXLAN or
  // GENEVE: 42 bytes over IPv4, 62 over IPv6) or Ethernet + IP (NVGRE, its GRE follows: 34
  // or 54 bytes); lengths, IPv4 checksum, flow label, UDP source port and checksum 0
  // (filled per frame). A remote serving domains of two kinds takes one index per kind.
  Napi::Value SetRemote(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t idx = info[0].As<Napi::Number>().Uint32Value();
    if (idx >= VTEPD_XDP_MAX_REMOTES) throw Napi::RangeError::New(env, "remote index below 256");
    size_t n = info[2].IsBuffer() ? info[2].As<Napi::Buffer<uint8_t>>().Length() : 0;
    if (n != 42 && n != 34 && n != 62 && n != 54)
      throw Napi::TypeError::New(env, "header: a Buffer of Ethernet + IPv4 + UDP (42 bytes), Ethernet + IPv4 (34, NVGRE), Ethernet + IPv6 + UDP (62) or Ethernet + IPv6 (54, NVGRE)");
    struct vtepd_xdp_remote r;
    memset(&r, 0, sizeof r);
    memcpy(r.hdr, info[2].As<Napi::Buffer<uint8_t>>().Data(), n);
    r.hdr_len = (uint8_t)n;
    r.v6 = n >= 54;
    r.proto = n == 42 || n == 62 ? 17 : 47;
    uint8_t hp = r.v6 ? r.hdr[20] : r.hdr[23];
    uint16_t et = (uint16_t)((r.hdr[12] << 8) | r.hdr[13]);
    // A template of another protocol or family would send lies (a zero 42-byte header: today's tests).
    if (hp != r.proto && !(n == 42 && hp == 0)) throw Napi::RangeError::New(env, std::string("header: IP protocol must be ") + (r.proto == 17 ? "17 (UDP)" : "47 (GRE)") + " for a " + std::to_string(n) + "-byte header");
    if (r.v6 ? et != 0x86dd : (et != 0x0800 && !(n == 42 && et == 0))) throw Napi::RangeError::New(env, std::string("header: ethertype must be ") + (r.v6 ? "0x86dd" : "0x0800"));
    uint32_t l4 = r.v6 ? 54 : 34;
    if (r.v6) {
      Ip6(env, info[1], r.ip6);
      r.udp_sum_base = Sum16(r.hdr + 22, 32, 17);
    } else {
      r.ip = Ip4(env, info[1]);
      uint32_t sum = 0;
      for (int i = 14; i < 34; i += 2) sum += (uint32_t)((r.hdr[i] << 8) | r.hdr[i + 1]);
      sum -= (uint32_t)((r.hdr[16] << 8) | r.hdr[17]);  // total length: added per frame
      sum -= (uint32_t)((r.hdr[24] << 8) | r.hdr[25]);  // the checksum field itself
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      r.ip_sum_base = sum;
      r.udp_sum_base = Sum16(r.hdr + 26, 8, 17);
    }
    if (r.proto == 17) r.udp_sum_base = Sum16(r.hdr + l4 + 2, 2, r.udp_sum_base);  // destination port
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
    int cpus = libbpf_num_possible_cpus();
    std::vector<uint64_t> per(cpus > 0 ? cpus : 1);
    Napi::Array out = Napi::Array::New(env, VTEPD_XDP_C_COUNT);
    for (uint32_t i = 0; i < VTEPD_XDP_C_COUNT; i++) {
      uint64_t sum = 0;
      if (bpf_map_lookup_elem(fd, &i, per.data()) == 0)
        for (uint64_t x : per) sum += x;
      out.Set(i, Napi::Number::New(env, (double)sum));
    }
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

// The xdp plan's per-domain tunnel entries and per-remote templates, built once by
// the loader (xdp_plan.cc) from what vtepd's TypeScript template gives: the bytes the
// programs copy in front of each frame and the partial sums they finish per frame.
#ifndef VTEPD_XDP_PLAN_TUNNEL_H
#define VTEPD_XDP_PLAN_TUNNEL_H

#include <arpa/inet.h>
#include <napi.h>

#include <cstring>
#include <string>

#include "../bpf/vtepd_xdp.h"

namespace vtepd {

inline void XdpIp6(Napi::Env env, const Napi::Value& v, uint8_t out[16]) {
  if (!v.IsString() || inet_pton(AF_INET6, v.As<Napi::String>().Utf8Value().c_str(), out) != 1) throw Napi::TypeError::New(env, "an IPv6 address string");
}

inline uint32_t XdpIp4(Napi::Env env, const Napi::Value& v) {
  struct in_addr a;
  if (!v.IsString() || inet_pton(AF_INET, v.As<Napi::String>().Utf8Value().c_str(), &a) != 1) throw Napi::TypeError::New(env, "an IPv4 address string");
  return a.s_addr;
}

// One's-complement sum of big-endian 16-bit words, folded.
inline uint32_t XdpSum16(const uint8_t* b, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)((b[i] << 8) | b[i + 1]);
  if (n & 1) sum += (uint32_t)(b[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

inline uint32_t XdpU32(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Uint32Value(); }

// t = { type: 'vxlan'|'geneve'|'nvgre', geneveOptions?, flowId?, udpCsum?, zeroCsum6Tx? }:
// the tunnel header as src/tunnel/template.ts writes it (VXLAN's I flag, GENEVE's
// options and C bit, NVGRE's K bit and key), and the domain's checksum choices.
inline void XdpDomainEntry(Napi::Env env, uint32_t vni, Napi::Object t, struct vtepd_xdp_domain* out) {
  struct vtepd_xdp_domain& d = *out;
  memset(&d, 0, sizeof d);
  d.vni = vni;
  d.type = VTEPD_XDP_T_VXLAN;
  std::string type = "vxlan";
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
        uint32_t cls = XdpU32(o, "optClass"), ty = XdpU32(o, "type");
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
  d.tun_sum = XdpSum16(d.tun, d.tun_len, 0);
}

// header: the remote's outer Ethernet + IPv4 header (34 bytes, or 42 with a UDP header
// the program ignores: today's callers) or Ethernet + IPv6 (54, or 62). Any tunnel type
// uses it: the IP protocol, lengths, checksum and flow label are filled per frame.
inline void XdpRemoteEntry(Napi::Env env, const Napi::Value& ip, const Napi::Value& header, struct vtepd_xdp_remote* out) {
  struct vtepd_xdp_remote& r = *out;
  memset(&r, 0, sizeof r);
  size_t n = header.IsBuffer() ? header.As<Napi::Buffer<uint8_t>>().Length() : 0;
  if (n != 42 && n != 34 && n != 62 && n != 54)
    throw Napi::TypeError::New(env, "header: a Buffer of Ethernet + IPv4 (34 bytes, or 42 with a UDP header) or Ethernet + IPv6 (54, or 62)");
  r.v6 = n >= 54;
  r.hdr_len = r.v6 ? 54 : 34;
  memcpy(r.hdr, header.As<Napi::Buffer<uint8_t>>().Data(), r.hdr_len);
  uint16_t et = (uint16_t)((r.hdr[12] << 8) | r.hdr[13]);
  // Another family's header would send lies (an all-zero 42-byte header: today's decap-only callers).
  if (r.v6 ? et != 0x86dd : (et != 0x0800 && !(n == 42 && et == 0))) throw Napi::RangeError::New(env, std::string("header: ethertype must be ") + (r.v6 ? "0x86dd" : "0x0800"));
  if (r.v6) {
    XdpIp6(env, ip, r.ip6);
    r.udp_sum_base = XdpSum16(r.hdr + 22, 32, 0);
  } else {
    r.ip = XdpIp4(env, ip);
    r.hdr[23] = 0;                  // protocol: added per frame
    r.hdr[16] = r.hdr[17] = 0;      // total length: added per frame
    r.hdr[24] = r.hdr[25] = 0;      // checksum
    r.ip_sum_base = XdpSum16(r.hdr + 14, 20, 0);
    r.udp_sum_base = XdpSum16(r.hdr + 26, 8, 0);
  }
}

// setDomain's form: the tunnel header as the encap stage writes it (8..260 bytes, whole
// words), its type and transmit UDP port (0: the config's for the type).
inline void XdpDomainRaw(Napi::Env env, uint32_t vni, const std::string& type, uint32_t udpPort, const Napi::Value& header, Napi::Object opts, struct vtepd_xdp_domain* out) {
  struct vtepd_xdp_domain& d = *out;
  memset(&d, 0, sizeof d);
  d.vni = vni;
  d.type = type == "vxlan" ? VTEPD_XDP_T_VXLAN : type == "geneve" ? VTEPD_XDP_T_GENEVE : type == "nvgre" ? VTEPD_XDP_T_NVGRE : 0;
  if (d.type == 0) throw Napi::RangeError::New(env, "type must be vxlan, geneve or nvgre");
  if (!header.IsBuffer()) throw Napi::TypeError::New(env, "header: a Buffer");
  auto h = header.As<Napi::Buffer<uint8_t>>();
  if (h.Length() < 8 || h.Length() > VTEPD_XDP_MAX_TUN_HDR || (h.Length() & 3)) throw Napi::RangeError::New(env, "header: 8..260 bytes, a multiple of 4 (GENEVE options up to 252 bytes)");
  if (udpPort > 0xffff) throw Napi::RangeError::New(env, "udpPort 0..65535");
  memcpy(d.tun, h.Data(), h.Length());
  d.tun_len = (uint16_t)h.Length();
  d.udp_port = (uint16_t)udpPort;
  d.flow_hash = d.type == VTEPD_XDP_T_NVGRE;
  d.udp_csum = opts.Has("udpCsum") && opts.Get("udpCsum").ToBoolean() ? 1 : 0;
  d.udp_csum6 = opts.Has("zeroCsum6Tx") && opts.Get("zeroCsum6Tx").ToBoolean() ? 0 : 1;
  d.tun_sum = XdpSum16(d.tun, d.tun_len, 0);
}

}  // namespace vtepd

#endif

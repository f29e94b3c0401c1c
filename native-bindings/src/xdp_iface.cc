#include "xdp_iface.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "../bpf/vtepd_xsk.h"

namespace vtepd {

int QueryAttachedXdp(int ifindex, AttachedXdp* out) {
  *out = AttachedXdp();
  struct bpf_xdp_query_opts q;
  std::memset(&q, 0, sizeof q);
  q.sz = sizeof q;
  if (int r = bpf_xdp_query(ifindex, 0, &q); r < 0) return -r;
  if (q.drv_prog_id != 0) {
    out->id = q.drv_prog_id, out->mode = "native", out->modeFlags = XDP_FLAGS_DRV_MODE;
  } else if (q.skb_prog_id != 0) {
    out->id = q.skb_prog_id, out->mode = "generic", out->modeFlags = XDP_FLAGS_SKB_MODE;
  } else if (q.hw_prog_id != 0) {
    out->id = q.hw_prog_id, out->mode = "offload", out->modeFlags = XDP_FLAGS_HW_MODE;
  }
  if (out->id == 0) return 0;
  int fd = bpf_prog_get_fd_by_id(out->id);
  if (fd >= 0) {
    struct bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) out->name = info.name;
    close(fd);
  }
  out->ours = out->name == VTEPD_XSK_PROG_NAME;
  // A bpf_link holding this program means a live owner (links die with their last fd).
  uint32_t lid = 0;
  while (!out->viaLink && bpf_link_get_next_id(lid, &lid) == 0) {
    int lfd = bpf_link_get_fd_by_id(lid);
    if (lfd < 0) continue;
    struct bpf_link_info li;
    std::memset(&li, 0, sizeof li);
    uint32_t len = sizeof li;
    if (bpf_obj_get_info_by_fd(lfd, &li, &len) == 0 && li.type == BPF_LINK_TYPE_XDP && li.prog_id == out->id) out->viaLink = true;
    close(lfd);
  }
  return 0;
}

uint32_t XskQueueCount(const std::string& ifname, std::string* how) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ethtool_channels ch;
  std::memset(&ch, 0, sizeof ch);
  ch.cmd = ETHTOOL_GCHANNELS;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  int r = fd >= 0 ? ioctl(fd, SIOCETHTOOL, &ifr) : -1;
  int e = errno;
  if (fd >= 0) close(fd);
  if (r < 0) {
    if (how) *how = std::string("ethtool channels unavailable (") + std::strerror(e) + "): assuming 1 queue";
    return 1;
  }
  uint32_t rx = ch.rx_count + ch.combined_count, tx = ch.tx_count + ch.combined_count;
  uint32_t n = rx < tx ? rx : tx;
  if (how) *how = "ethtool channels: rx " + std::to_string(rx) + ", tx " + std::to_string(tx);
  return n == 0 ? 1 : n;
}

std::string DriverName(const std::string& ifname) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  struct ethtool_drvinfo di;
  std::memset(&di, 0, sizeof di);
  di.cmd = ETHTOOL_GDRVINFO;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(&di);
  int r = ioctl(fd, SIOCETHTOOL, &ifr);
  close(fd);
  return r < 0 ? "" : std::string(di.driver);
}

// ---- netdev generic netlink: one request, one reply ----------------------------------
namespace {
constexpr uint16_t kNetdevCmdDevGet = 1;        // NETDEV_CMD_DEV_GET
constexpr uint16_t kNetdevAIfindex = 1;         // NETDEV_A_DEV_IFINDEX
constexpr uint16_t kNetdevAXdpFeatures = 3;     // NETDEV_A_DEV_XDP_FEATURES (u64)
constexpr uint16_t kNetdevAZcMaxSegs = 4;       // NETDEV_A_DEV_XDP_ZC_MAX_SEGS (u32)
constexpr uint64_t kActBasic = 1, kActRedirect = 2, kActXskZeroCopy = 8;  // NETDEV_XDP_ACT_*

struct GenlMsg {
  struct nlmsghdr n;
  struct genlmsghdr g;
  char buf[256];
};

void AddAttr(GenlMsg* m, uint16_t type, const void* data, uint16_t len) {
  auto* a = reinterpret_cast<struct nlattr*>(reinterpret_cast<char*>(m) + NLMSG_ALIGN(m->n.nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, data, len);
  m->n.nlmsg_len = NLMSG_ALIGN(m->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

// Sends `m`, reads the reply into `reply`; returns the attribute area length, or -errno.
int Transact(int fd, GenlMsg* m, char* reply, size_t cap, char** attrs) {
  if (send(fd, m, m->n.nlmsg_len, 0) < 0) return -errno;
  ssize_t got = recv(fd, reply, cap, 0);
  if (got < (ssize_t)NLMSG_HDRLEN) return -EIO;
  auto* h = reinterpret_cast<struct nlmsghdr*>(reply);
  if (h->nlmsg_type == NLMSG_ERROR) {
    auto* e = reinterpret_cast<struct nlmsgerr*>(NLMSG_DATA(h));
    return e->error != 0 ? e->error : -EIO;
  }
  if (!NLMSG_OK(h, (size_t)got)) return -EIO;
  *attrs = reinterpret_cast<char*>(NLMSG_DATA(h)) + GENL_HDRLEN;
  return (int)(h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
}

template <typename F>
void EachAttr(char* p, int len, F f) {
  while (len >= (int)NLA_HDRLEN) {
    auto* a = reinterpret_cast<struct nlattr*>(p);
    if (a->nla_len < NLA_HDRLEN || a->nla_len > len) return;
    f(a->nla_type & NLA_TYPE_MASK, p + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
    p += NLA_ALIGN(a->nla_len);
    len -= NLA_ALIGN(a->nla_len);
  }
}
}  // namespace

XdpFeatures QueryXdpFeatures(int ifindex) {
  XdpFeatures out;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) {
    out.why = std::string("generic netlink socket: ") + std::strerror(errno);
    return out;
  }
  struct timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  static char reply[8192];
  GenlMsg m;
  std::memset(&m, 0, sizeof m);
  m.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  m.n.nlmsg_type = GENL_ID_CTRL;
  m.n.nlmsg_flags = NLM_F_REQUEST;
  m.g.cmd = CTRL_CMD_GETFAMILY;
  m.g.version = 1;
  AddAttr(&m, CTRL_ATTR_FAMILY_NAME, "netdev", 7);
  char* attrs = nullptr;
  int len = Transact(fd, &m, reply, sizeof reply, &attrs);
  uint16_t family = 0;
  if (len >= 0) EachAttr(attrs, len, [&](uint16_t t, char* d, int l) { if (t == CTRL_ATTR_FAMILY_ID && l >= 2) std::memcpy(&family, d, 2); });
  if (family == 0) {
    close(fd);
    out.why = "the kernel has no netdev netlink family (Linux < 6.3): XDP features unknown until an attach is tried";
    return out;
  }
  std::memset(&m, 0, sizeof m);
  m.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
  m.n.nlmsg_type = family;
  m.n.nlmsg_flags = NLM_F_REQUEST;
  m.g.cmd = kNetdevCmdDevGet;
  m.g.version = 1;
  uint32_t idx = (uint32_t)ifindex;
  AddAttr(&m, kNetdevAIfindex, &idx, 4);
  len = Transact(fd, &m, reply, sizeof reply, &attrs);
  close(fd);
  if (len < 0) {
    out.why = std::string("netdev dev-get: ") + std::strerror(-len);
    return out;
  }
  uint64_t feat = 0;
  EachAttr(attrs, len, [&](uint16_t t, char* d, int l) {
    if (t == kNetdevAXdpFeatures && l >= 8) std::memcpy(&feat, d, 8), out.known = true;
    if (t == kNetdevAZcMaxSegs && l >= 4) std::memcpy(&out.zcMaxSegs, d, 4);
  });
  if (!out.known) out.why = "netdev dev-get gave no xdp-features";
  out.basic = feat & kActBasic;
  out.redirect = feat & kActRedirect;
  out.zeroCopy = feat & kActXskZeroCopy;
  return out;
}

// ---- libbpf / libxdp log capture ----------------------------------------------------
namespace {
std::string gLog;
libbpf_print_fn_t gOldBpf = nullptr;
libxdp_print_fn_t gOldXdp = nullptr;
int gDepth = 0;

void Append(const char* fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  gLog += line;
  if (gLog.size() > 4096) gLog.erase(0, gLog.size() - 4096);  // the end says why it failed
}
int BpfPrint(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level != LIBBPF_DEBUG) Append(fmt, ap);
  return 0;
}
int XdpPrint(enum libxdp_print_level level, const char* fmt, va_list ap) {
  if (level != LIBXDP_DEBUG) Append(fmt, ap);
  return 0;
}
}  // namespace

BpfLogCapture::BpfLogCapture() {
  if (gDepth++ > 0) return;
  gLog.clear();
  gOldBpf = libbpf_set_print(BpfPrint);
  gOldXdp = libxdp_set_print(XdpPrint);
}
BpfLogCapture::~BpfLogCapture() {
  if (--gDepth > 0) return;
  libbpf_set_print(gOldBpf);
  libxdp_set_print(gOldXdp);
}
std::string BpfLogCapture::Text() {
  std::string s = gLog;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string WithBpfLog(std::string msg) {
  std::string log = BpfLogCapture::Text();
  if (!log.empty()) msg += " (" + log.substr(log.size() > 600 ? log.size() - 600 : 0) + ")";
  return msg;
}

uint64_t SumPerCpuSlot(int mapFd, uint32_t key) {
  int ncpu = libbpf_num_possible_cpus();
  if (mapFd < 0 || ncpu <= 0) return 0;
  std::vector<uint64_t> vals(ncpu);
  uint64_t sum = 0;
  if (bpf_map_lookup_elem(mapFd, &key, vals.data()) == 0)
    for (uint64_t v : vals) sum += v;
  return sum;
}

std::string RemoveCommand(const AttachedXdp& a, const std::string& ifname) {
  if (a.viaLink) return "it is held by a running process through a bpf_link (see `bpftool link show`); stop that process";
  if (a.name == "xdp_dispatcher") return "remove it with `xdp-loader unload " + ifname + " --all`";
  const char* kind = a.modeFlags == XDP_FLAGS_SKB_MODE ? "xdpgeneric" : a.modeFlags == XDP_FLAGS_HW_MODE ? "xdpoffload" : "xdpdrv";
  return "remove it with `ip link set dev " + ifname + " " + kind + " off`";
}

}  // namespace vtepd

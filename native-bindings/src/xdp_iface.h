// What the AF_XDP code asks of an interface and of the kernel, without
// attaching anything: the XDP program attached now (and whose it is), RX queue
// count, the driver's XDP features (netdev generic netlink), and a capture of
// libbpf's log so an error can say what the kernel said.
#pragma once
#include <cstdint>
#include <string>

namespace vtepd {

// The XDP program on an interface (one of its attach points), id 0 = none.
struct AttachedXdp {
  uint32_t id = 0;
  std::string name;  // as the kernel has it (BPF_OBJ_NAME_LEN: 15 characters)
  const char* mode = "none";  // "native", "generic", "offload", "multi"
  uint32_t modeFlags = 0;     // XDP_FLAGS_DRV_MODE / SKB_MODE / HW_MODE of the first attach point used
  bool viaLink = false;       // held by a bpf_link: the program goes when its owner process exits
  bool ours = false;          // vtepd's AF_XDP program (VTEPD_XSK_PROG_NAME)
};
// Query ifindex (in the current network namespace); errno value on failure, 0 on success.
int QueryAttachedXdp(int ifindex, AttachedXdp* out);

// min(RX, TX) queues: an AF_XDP socket can bind to queue ids below this (xsk_bind checks both).
// Falls back to 1 when the driver has no ETHTOOL_GCHANNELS.
uint32_t XskQueueCount(const std::string& ifname, std::string* how);

// netdev generic netlink (Linux 6.3+): NETDEV_A_DEV_XDP_FEATURES. known=false on older kernels.
struct XdpFeatures {
  bool known = false;
  bool basic = false, redirect = false, zeroCopy = false;
  uint32_t zcMaxSegs = 0;
  std::string why;  // when !known
};
XdpFeatures QueryXdpFeatures(int ifindex);

// The interface's driver name (ETHTOOL_GDRVINFO), "" when unknown.
std::string DriverName(const std::string& ifname);

// While alive, libbpf/libxdp messages go to a buffer (not stderr); Text() is what they said.
class BpfLogCapture {
 public:
  BpfLogCapture();
  ~BpfLogCapture();
  static std::string Text();
};

// `msg` followed by the tail of what libbpf/libxdp logged (BpfLogCapture), when they logged anything.
std::string WithBpfLog(std::string msg);

// Slot `key` of a per-CPU array map of u64 counters, summed over every possible CPU; 0 when the lookup fails.
uint64_t SumPerCpuSlot(int mapFd, uint32_t key);

// The command a user runs to remove `a` from `ifname`, for error messages.
std::string RemoveCommand(const AttachedXdp& a, const std::string& ifname);

}  // namespace vtepd

// SPDX-License-Identifier: GPL-2.0
// bench:live's sink: drop every frame at the driver hook. The veth still counts
// it (rx packets and bytes); the sink's receive work then costs ~nothing, so no
// setup of the device under test is charged for the sink's socket buffers.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int vtepd_sink(struct xdp_md* ctx) {
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

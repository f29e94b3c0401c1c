// SPDX-License-Identifier: GPL-2.0
// The live benchmark's traffic generator (bench/live): run with BPF_PROG_RUN and
// BPF_F_TEST_XDP_LIVE_FRAMES, every frame is transmitted out of the interface the
// run names (XDP_TX becomes a redirect to it). The frames are made in the kernel's
// page pool from one template; no socket, no syscall per frame, and nothing of the
// device under test runs in the generator's context except the veth's ndo_xdp_xmit.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int vtepd_trafgen(struct xdp_md* ctx) {
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
// The live benchmark's sink (bench/live): attached to the sink's veth, it drops
// every frame at the XDP hook. The veth still counts each one in its rx
// packets and bytes, which is what the benchmark reads; no socket buffer is
// built, so receiving costs the sink's core as little as it can, for every
// setup of the device under test alike, and leaves that core to the generator.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int vtepd_benchsink(struct xdp_md* ctx) {
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

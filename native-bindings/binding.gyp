{
  "targets": [
    {
      "target_name": "vtepd_native",
      "sources": ["src/addon.cc", "src/errors.cc", "src/poller.cc", "src/common.cc", "src/af_packet.cc", "src/tap.cc", "src/netns.cc", "src/sink.cc", "src/batch_view.cc", "src/encap.cc", "src/decap.cc", "src/fdb.cc", "src/checksum.cc", "src/replicate.cc", "src/af_xdp.cc", "src/af_xdp_burst.cc", "src/xsk_program.cc", "src/xdp_iface.cc", "src/xdp_probe.cc", "src/packet_rx.cc", "src/packet_tx.cc", "src/busy_poll.cc", "src/trafgen.cc", "src/xdp_plan.cc", "src/stack_bypass.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["-lxdp", "-lbpf"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"sources!": ["src/af_packet.cc", "src/tap.cc", "src/netns.cc", "src/sink.cc", "src/af_xdp.cc", "src/af_xdp_burst.cc", "src/xsk_program.cc", "src/xdp_iface.cc", "src/xdp_probe.cc", "src/packet_rx.cc", "src/packet_tx.cc", "src/busy_poll.cc", "src/trafgen.cc", "src/xdp_plan.cc", "src/stack_bypass.cc"]}]]
    }
  ]
}

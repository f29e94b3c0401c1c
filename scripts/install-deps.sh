#!/usr/bin/env bash
# Installs what vtepd needs on a fresh Debian/Ubuntu host (run as root), then
# `npm ci`, which builds the TypeScript and the native addon.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "vtepd needs Node.js 20 or newer on PATH (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/vtepd-apt.XXXXXX.log)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    build-essential python3 libpcap-dev tshark tcpdump python3-scapy iproute2 ethtool procps \
    clang llvm libbpf-dev libxdp-dev bpftool iperf3 \
    gobgpd golang-github-osrg-gobgp-dev frr; } >"$log" 2>&1; then
  tail -50 "$log" >&2
  exit 1
fi

npm ci --no-audit --no-fund

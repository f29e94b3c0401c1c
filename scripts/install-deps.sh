#!/usr/bin/env bash
# Installs what vtepd needs on a fresh Debian/Ubuntu host (run as root), then,
# in a source checkout, `npm ci` (which builds the TypeScript, the native addon
# and the eBPF objects).
#
#   scripts/install-deps.sh          what `vtepd run` and the CLI need
#   scripts/install-deps.sh --test   also the independent oracles and peers the
#                                    tests use (tshark, tcpdump, scapy, iperf3,
#                                    gobgpd + its .proto files, FRR); .ci/run uses this
#
# Node.js 20 or newer must be on PATH first. Debian 12's own nodejs is 18; the
# NodeSource packages give 20:
#   curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "vtepd needs Node.js 20 or newer on PATH (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "On Debian/Ubuntu: curl -fsSL https://deb.nodesource.com/setup_20.x | bash - && apt-get install -y nodejs" >&2
  exit 1
fi

runtime=(build-essential python3 libpcap-dev iproute2 ethtool procps clang llvm libbpf-dev libxdp-dev bpftool)
testing=(tshark tcpdump python3-scapy iperf3 gobgpd golang-github-osrg-gobgp-dev frr)
pkgs=("${runtime[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${testing[@]}")

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/vtepd-apt.XXXXXX.log)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >"$log" 2>&1; then
  tail -50 "$log" >&2
  exit 1
fi

if [ -f package-lock.json ] && [ -d src ]; then
  npm ci --no-audit --no-fund
fi

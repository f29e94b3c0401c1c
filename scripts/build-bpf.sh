#!/usr/bin/env bash
# Compiles every native-bindings/bpf/*.bpf.c into native-bindings/build/bpf/*.bpf.o
# (clang -target bpf, CO-RE against this kernel's BTF through a generated vmlinux.h).
# Part of `npm run build`. On a host without clang, bpftool or kernel BTF it says
# so and builds nothing: the XDP features then report "BPF objects not built".
set -euo pipefail
cd "$(dirname "$0")/../native-bindings"
out=build/bpf
shopt -s nullglob
srcs=(bpf/*.bpf.c)
[ ${#srcs[@]} -gt 0 ] || exit 0
missing=()
command -v clang >/dev/null || missing+=("clang")
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || missing+=("bpftool")
[ -r /sys/kernel/btf/vmlinux ] || missing+=("/sys/kernel/btf/vmlinux (kernel BTF)")
[ -r /usr/include/bpf/bpf_helpers.h ] || missing+=("libbpf-dev")
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-bpf: not building the eBPF programs, missing: ${missing[*]} (scripts/install-deps.sh installs them)" >&2
  exit 0
fi
mkdir -p "$out"
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
# vmlinux.h is regenerated when the kernel's BTF changes (another kernel, another host).
if [ ! -s "$out/vmlinux.h" ] || [ /sys/kernel/btf/vmlinux -nt "$out/vmlinux.h" ]; then
  "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c > "$out/vmlinux.h.tmp"
  mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
for src in "${srcs[@]}"; do
  obj="$out/$(basename "${src%.c}").o"
  deps=("$src" bpf/*.h "$out/vmlinux.h" src/generated/contract.h)
  fresh=1
  for d in "${deps[@]}"; do [ "$d" -nt "$obj" ] && fresh=0; done
  [ -f "$obj" ] && [ $fresh = 1 ] && continue
  clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_"$arch" -I "$out" -I bpf -c "$src" -o "$obj.tmp"
  mv "$obj.tmp" "$obj"
done

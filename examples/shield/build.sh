#!/usr/bin/env bash
# Build the notes program: an ordinary WASI command (clang --target=wasm32-wasi with wasi-libc; no
# Witness headers, flags or libraries), which the shield runs inside an enclave unmodified.
# Usage: examples/shield/build.sh [OUT.wasm]   (default: examples/shield/program.wasm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/program.wasm}"
clang --target=wasm32-wasi -O2 -Wl,--strip-all -ffile-prefix-map="$root"=. -o "$out" "$here/program.c"
echo "built $out"

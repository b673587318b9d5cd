#!/usr/bin/env bash
# Build the hello enclave module: C → wasm32 with Debian's clang, lld and wasi-libc.
# Usage: examples/hello/build.sh [OUT.wasm]   (default: examples/hello/enclave.wasm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/enclave.wasm}"
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
node "$root/bin/witness.js" edl "$here/hello.edl" --c-header "$gen/hello_t.h" >/dev/null
clang --target=wasm32-wasi -O2 -mmutable-globals -nostartfiles -Wl,--no-entry -Wl,--import-memory -Wl,--stack-first -Wl,--export=__stack_pointer \
  -Wl,--initial-memory=262144 -Wl,--max-memory=1048576 -Wl,-z,stack-size=65536 -Wl,--strip-all \
  -ffile-prefix-map="$root"=. -I "$root/c/include" -I "$gen" \
  -o "$out" "$here/enclave.c" "$root/c/src/witness_rt.c"
echo "built $out"

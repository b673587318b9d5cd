#!/usr/bin/env bash
# Compile C enclave sources to a Witness enclave module (wasm32) with the SDK's flags: the
# interface header <name>_t.h is generated from the EDL (`witness edl --c-header`), the C support
# library (c/src/witness_rt.c) is linked in, the module imports its memory (the enclave's heap),
# puts the stack first and exports __stack_pointer. Needs Debian's clang, lld and wasi-libc, and
# the compiled CLI (`npx tsc -p .`). The build is deterministic.
#
# Usage: c/enclave-cc.sh [--initial-memory BYTES] [--max-memory BYTES] EDL OUT.wasm SOURCE.c...
#        (defaults: 262144 and 1048576, multiples of 64 KiB)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
initial=262144
max=1048576
while [ $# -gt 0 ]; do
  case "$1" in
    --initial-memory) initial="$2"; shift 2 ;;
    --max-memory) max="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
if [ $# -lt 3 ]; then
  echo "usage: c/enclave-cc.sh [--initial-memory BYTES] [--max-memory BYTES] EDL OUT.wasm SOURCE.c..." >&2
  exit 2
fi
edl="$1"; out="$2"; shift 2
name="$(basename "$edl" .edl)"
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
node "$root/bin/witness.js" edl "$edl" --c-header "$gen/${name}_t.h" >/dev/null
clang --target=wasm32-wasi -O2 -mmutable-globals -nostartfiles -Wl,--no-entry -Wl,--import-memory -Wl,--stack-first -Wl,--export=__stack_pointer \
  -Wl,--initial-memory="$initial" -Wl,--max-memory="$max" -Wl,-z,stack-size=65536 -Wl,--strip-all \
  -ffile-prefix-map="$root"=. -I "$root/c/include" -I "$gen" \
  -o "$out" "$@" "$root/c/src/witness_rt.c"

#!/usr/bin/env bash
# Build the local-attestation enclave module: C → wasm32 with Debian's clang, lld and wasi-libc, through the
# SDK's compiler driver (c/enclave-cc.sh: the interface header from attest.edl, the SDK's flags).
# Usage: examples/local-attestation/build.sh [OUT.wasm]   (default: examples/local-attestation/enclave.wasm)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/enclave.wasm}"
"$here/../../c/enclave-cc.sh" "$here/attest.edl" "$out" "$here/enclave.c"
echo "built $out"

#!/usr/bin/env bash
# Build the AssemblyScript hello enclave module with asc (the assemblyscript devDependency).
# Usage: examples/hello-as/build.sh [OUT.wasm]   (default: examples/hello-as/enclave.wasm)
# Needs the compiled package (npx tsc -p .) for `witness edl`.
#
# The sources are compiled from a scratch copy next to the generated OCALL declarations
# (hello_t.ts), with relative paths, so the file names asc embeds in its messages do not depend on
# where the repository is: the output is byte-for-byte reproducible.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/enclave.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
mkdir -p "$gen/assembly"
cp "$here"/assembly/*.ts "$gen/assembly/"
node "$root/bin/witness.js" edl "$here/hello.edl" --as "$gen/assembly/hello_t.ts" >/dev/null
# One page to start (the static data fits in it), at most 16 (the default 1 MiB heap): the runtime
# maps the whole enclave heap as the memory, so TLSF manages all of it; memory.grow always fails.
(cd "$gen" && "$root/node_modules/.bin/asc" assembly/enclave.ts -O3 --runtime minimal \
  --importMemory --noExportMemory --initialMemory 1 --maximumMemory 16 \
  --use abort=assembly/abort/enclaveAbort -o "$gen/enclave.wasm")
cp "$gen/enclave.wasm" "$out"
echo "built $out"

#!/usr/bin/env bash
# Rebuild every example's module (an enclave's, or the shield example's WASI program) and compare it byte for byte with the committed one.
#
#   scripts/build-examples.sh            check: exit 1 if any committed enclave.wasm differs from a fresh build
#   scripts/build-examples.sh --update   write the fresh builds over the committed files
#
# Needs the compiled package (npx tsc -p .; `witness edl` generates the interface headers), clang,
# lld and wasi-libc for the C examples (Debian: clang lld wasi-libc libclang-rt-dev-wasm32), and
# the assemblyscript devDependency (npm ci) for hello-as. The builds are deterministic.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
examples=(hello hello-as sealing local-attestation shield)

update=0
case "${1:-}" in
  "") ;;
  --update) update=1 ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build-examples: unknown argument '$1' (use --update or nothing)" >&2; exit 2 ;;
esac

if [ ! -f "$root/dist/src/cli/main.js" ]; then
  echo "build-examples: the package is not compiled; run 'npx tsc -p .' first" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=()
for ex in "${examples[@]}"; do
  dir="$root/examples/$ex"
  # The shield's example is an ordinary WASI program, not an enclave module.
  artifact=enclave.wasm
  [ "$ex" = shield ] && artifact=program.wasm
  committed="$dir/$artifact"
  fresh="$tmp/$ex.wasm"
  if ! bash "$dir/build.sh" "$fresh" >"$tmp/$ex.log" 2>&1; then
    echo "build-examples: FAILED to build examples/$ex:" >&2
    sed 's/^/  /' "$tmp/$ex.log" >&2
    failed+=("$ex (build failed)")
    continue
  fi
  sum() { sha256sum "$1" | cut -c1-16; }
  if [ -f "$committed" ] && cmp -s "$fresh" "$committed"; then
    echo "examples/$ex/$artifact: up to date ($(stat -c %s "$fresh") bytes, sha256 $(sum "$fresh")…)"
  elif [ "$update" = 1 ]; then
    cp "$fresh" "$committed"
    echo "examples/$ex/$artifact: UPDATED ($(stat -c %s "$fresh") bytes, sha256 $(sum "$fresh")…)"
  elif [ ! -f "$committed" ]; then
    echo "build-examples: examples/$ex/$artifact is missing (run scripts/build-examples.sh --update)" >&2
    failed+=("$ex (missing)")
  else
    echo "build-examples: MISMATCH examples/$ex/$artifact: committed $(stat -c %s "$committed") bytes, sha256 $(sum "$committed")…; fresh build $(stat -c %s "$fresh") bytes, sha256 $(sum "$fresh")…" >&2
    echo "  the committed module is not what its sources build; rebuild it with scripts/build-examples.sh --update and commit it" >&2
    failed+=("$ex (differs)")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "build-examples: ${#failed[@]} of ${#examples[@]} example modules not reproduced: ${failed[*]}" >&2
  exit 1
fi
if [ "$update" = 1 ]; then
  echo "build-examples: all ${#examples[@]} example modules built and up to date"
else
  echo "build-examples: all ${#examples[@]} example modules reproduced byte for byte"
fi

#!/usr/bin/env bash
# Rebuild the SDK suite's C test enclaves and check them against the committed modules.
#
# Every directory test/fixtures/<name>/ that holds <name>.edl and enclave.c is one fixture: the
# EDL gives the enclave header and enclave.c is compiled with c/enclave-cc.sh (the SDK's flags,
# as the examples are; a cc-flags file beside them adds the driver's own options, such as
# --max-memory). The result must equal the committed test/fixtures/<name>/enclave.wasm
# byte for byte, so the tests run exactly what the sources say.
#
# Every test/fixtures/wasi/<name>.c is an ordinary WASI command for the shield's tests, compiled
# as any WASI program is (clang --target=wasm32-wasi with wasi-libc, no Witness flags) into
# test/fixtures/wasi/<name>.wasm, compared the same way.
#
# Usage: scripts/build-fixtures.sh            build into a temp dir and compare (exit 1 on a mismatch)
#        scripts/build-fixtures.sh --update   rewrite the committed modules
# Needs: clang with the wasm32-wasi target, wasm-ld and wasi-libc; the compiled CLI (dist/, `npx tsc -p .`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$root/test/fixtures"

update=0
case "${1:-}" in
  "") ;;
  --update) update=1 ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

if ! command -v clang >/dev/null 2>&1; then
  echo "build-fixtures: clang is not installed (needed: clang, lld, wasi-libc)" >&2
  exit 2
fi
if [ ! -f "$root/dist/src/cli/main.js" ]; then
  echo "build-fixtures: the CLI is not built; run \`npx tsc -p .\` first" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

built=0
mismatches=()
# compare BUILT with the committed module COMMITTED (LABEL: its path in the repository), or replace it with --update
check() {
  local built_file="$1" committed="$2" label="$3"
  if [ "$update" = 1 ]; then
    if ! cmp -s "$built_file" "$committed" 2>/dev/null; then
      cp "$built_file" "$committed"
      echo "build-fixtures: updated $label"
    fi
  elif [ ! -f "$committed" ]; then
    mismatches+=("$label is missing")
  elif ! cmp -s "$built_file" "$committed"; then
    mismatches+=("$label ($(wc -c <"$committed") bytes) differs from a fresh build of its sources ($(wc -c <"$built_file") bytes)")
  fi
}
for dir in "$fixtures"/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  [ -f "$dir/$name.edl" ] && [ -f "$dir/enclave.c" ] || continue
  mkdir -p "$tmp/$name"
  flags=()
  [ -f "$dir/cc-flags" ] && read -r -a flags <"$dir/cc-flags"
  "$root/c/enclave-cc.sh" "${flags[@]}" "$dir/$name.edl" "$tmp/$name/enclave.wasm" "$dir/enclave.c"
  built=$((built + 1))
  check "$tmp/$name/enclave.wasm" "$dir/enclave.wasm" "test/fixtures/$name/enclave.wasm"
done

mkdir -p "$tmp/wasi"
for src in "$fixtures"/wasi/*.c; do
  [ -f "$src" ] || continue
  name="$(basename "$src" .c)"
  clang --target=wasm32-wasi -O2 -Wl,--strip-all -ffile-prefix-map="$root"=. -o "$tmp/wasi/$name.wasm" "$src"
  built=$((built + 1))
  check "$tmp/wasi/$name.wasm" "$fixtures/wasi/$name.wasm" "test/fixtures/wasi/$name.wasm"
done

if [ "$built" = 0 ]; then
  echo "build-fixtures: no fixtures found under test/fixtures/" >&2
  exit 1
fi
if [ "${#mismatches[@]}" -gt 0 ]; then
  echo "build-fixtures: ${#mismatches[@]} of $built fixture module(s) do not match their sources:" >&2
  for m in "${mismatches[@]}"; do echo "  $m" >&2; done
  echo "Rebuild them with scripts/build-fixtures.sh --update and commit the .wasm files with the sources." >&2
  exit 1
fi
echo "build-fixtures: $built fixture module(s) $([ "$update" = 1 ] && echo built || echo match their sources)"

#!/usr/bin/env bash
# Build the architectural enclaves' modules (the PCE and the QE: C → wasm32 through the SDK's
# compiler driver, c/enclave-cc.sh) and compare them with the committed ones.
#
#   ae/build.sh            check: exit 1 if a committed module differs from a fresh build
#   ae/build.sh --update   write the fresh builds over the committed files
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
update=0
case "${1:-}" in
  "") ;;
  --update) update=1 ;;
  *) echo "ae/build.sh: unknown argument '$1' (use --update or nothing)" >&2; exit 2 ;;
esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for ae in pce qe; do
  "$here/../c/enclave-cc.sh" "$here/$ae/$ae.edl" "$tmp/$ae.wasm" "$here/$ae/$ae.c"
  if [ "$update" = 1 ]; then
    cp "$tmp/$ae.wasm" "$here/$ae/$ae.wasm"
    echo "ae/$ae/$ae.wasm updated"
  elif cmp -s "$tmp/$ae.wasm" "$here/$ae/$ae.wasm"; then
    echo "ae/$ae/$ae.wasm matches its sources"
  else
    echo "ae/$ae/$ae.wasm differs from a fresh build of its sources (run ae/build.sh --update)" >&2
    status=1
  fi
done
exit $status

#!/usr/bin/env bash
# Regenerates src/bindings.rs from capi/include/gptq/gptq.h with Debian's
# `bindgen` command (scripts/install-deps.sh installs it).
#   regenerate.sh          rewrite src/bindings.rs
#   regenerate.sh --check  exit 1, showing the diff, when src/bindings.rs is not
#                          what bindgen makes of gptq.h today
# Enums stay integer constants (bindgen's default "consts"), not Rust enums:
# gptq.h makes every int a valid gptq_status so that a newer library's status
# reaches an older program, and a Rust enum holding an unknown value is UB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
header="$here/../../../capi/include/gptq/gptq.h"
out="$here/src/bindings.rs"
command -v bindgen >/dev/null || { echo "regenerate.sh: bindgen not found (apt-get install bindgen)" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bindgen "$header" \
  --allowlist-function 'gptq_.*' --allowlist-type 'gptq_.*' --allowlist-var 'GPTQ_.*' \
  --blocklist-type '__.*' --size_t-is-usize --no-prepend-enum-name --no-layout-tests \
  -o "$tmp"
if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$out" "$tmp"; then
    echo "regenerate.sh: $out is stale: run bindings/rust/gptq-sys/regenerate.sh and commit it" >&2
    exit 1
  fi
else
  cp "$tmp" "$out"
fi

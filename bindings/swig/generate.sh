#!/usr/bin/env bash
# Generates the Go module of gptq.i into bindings/go/internal/capi (committed,
# so that `go build` needs no SWIG). With --check, generates into a temporary
# folder and fails when it differs from what is committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="$root/bindings/go/internal/capi"
out="$dest"
if [ "${1:-}" = "--check" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
# Run from the root with a relative input: the files name their source, and
# that must not depend on where the repository is checked out.
(cd "$root" && swig -go -cgo -intgosize 64 -package capi -module gptq \
  -Icapi/include -Ibindings/swig \
  -o "$out/gptq_wrap.c" -outdir "$out" bindings/swig/gptq.i)
gofmt -w "$out/gptq.go"
if [ "$out" != "$dest" ]; then
  for f in gptq.go gptq_wrap.c; do
    if ! cmp -s "$out/$f" "$dest/$f"; then
      echo "bindings/go/internal/capi/$f differs from what gptq.i generates:" >&2
      diff -u "$dest/$f" "$out/$f" | head -40 >&2 || true
      echo "run bindings/swig/generate.sh and commit the result" >&2
      exit 1
    fi
  done
  echo "generated Go module is up to date"
fi

#!/usr/bin/env bash
# run_go.sh DIR GO-ARGS...: runs `go GO-ARGS` in DIR offline (no module from
# the network: the bindings have no dependencies). Skips like run_tool.sh
# when go is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$1"
shift
cd "$dir"
export GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on
exec bash "$here/run_tool.sh" go "$@"

#!/usr/bin/env bash
# run_tool.sh TOOL COMMAND...: runs COMMAND when TOOL is on PATH. Without it
# the test fails under CI=true (scripts/install-deps.sh installs it) and is
# skipped (exit 77) elsewhere.
set -euo pipefail
tool="$1"
shift
if ! command -v "$tool" >/dev/null; then
  echo "$tool not found: run scripts/install-deps.sh"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
exec "$@"

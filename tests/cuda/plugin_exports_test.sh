#!/usr/bin/env bash
# The built CUDA plugin exports exactly the entry symbol the loader looks up
# (GPTQ_BACKEND_PLUGIN_ENTRY in core/backend/backend_plugin.h): its version
# script (cuda/plugin.map) names the symbol apart, and a plugin whose map
# still names the last version loads nowhere (the loader says "no entry
# point"). Needs no GPU: reads the library's dynamic symbol table.
#   plugin_exports_test.sh PLUGIN_SO SOURCE_DIR
set -euo pipefail
so=${1:?usage: plugin_exports_test.sh PLUGIN_SO SOURCE_DIR} src=${2:?usage: plugin_exports_test.sh PLUGIN_SO SOURCE_DIR}
want=$(sed -n 's/^#define GPTQ_BACKEND_PLUGIN_ENTRY "\(.*\)"$/\1/p' "$src/core/backend/backend_plugin.h")
[ -n "$want" ] || { echo "no GPTQ_BACKEND_PLUGIN_ENTRY in backend_plugin.h" >&2; exit 1; }
got=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
if [ "$got" != "$want " ]; then
  echo "$so exports [${got% }], the loader looks up [$want] (cuda/plugin.map)" >&2
  exit 1
fi
echo "$so exports $want and nothing else"

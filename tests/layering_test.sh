#!/usr/bin/env bash
# The layer rules of ARCHITECTURE.md, checked on the source tree:
#  - core/ and capi/ include no CUDA header (core reaches CUDA only through
#    core/backend/backend_plugin.h);
#  - extern "C" appears only in capi/ and in the CUDA plugin's entry point;
#  - cli/, examples/ and bench/ programs of the C API include no core/ header.
set -euo pipefail
cd "${1:-.}"
status=0
if grep -rnE '#include\s*[<"](cuda|cublas|cusolver|curand|nvrtc)' core capi; then
  echo "layering: a CUDA header is included outside cuda/"; status=1
fi
if grep -rn 'extern "C"' core cli examples schema 2>/dev/null; then
  echo 'layering: extern "C" outside capi/ and cuda/plugin.cpp'; status=1
fi
if grep -rln 'extern "C"' cuda | grep -v '^cuda/plugin.cpp$'; then
  echo 'layering: extern "C" in cuda/ outside plugin.cpp'; status=1
fi
if grep -rnE '#include\s*"(core|cuda)/' cli examples 2>/dev/null; then
  echo "layering: cli/ and examples/ use only the public C API"; status=1
fi
[ $status -eq 0 ] && echo "layering: ok"
exit $status

#!/usr/bin/env bash
# The layer rules of ARCHITECTURE.md, checked on the source tree:
#  - the rooms of core/: a file of a room includes only its own room and the
#    rooms below it (ROOMS below: each room's direct lower rooms; a room may
#    include any room reachable from them). Any other "core/..." include
#    fails with the file, the line and the rooms it may use. The CMake
#    targets of core/CMakeLists.txt must link exactly these direct rooms;
#  - only core/cpu/ calls BLAS/LAPACK or starts threads;
#  - core/ and capi/ include no CUDA header (core reaches CUDA only through
#    core/backend/backend_plugin.h);
#  - extern "C" appears only in capi/ and in the CUDA plugin's entry point;
#  - cli/, examples/ and bench/ programs of the C API include no core/ header.
set -euo pipefail
cd "${1:-.}"
status=0

# room: its direct lower rooms (lowest first). Keep in step with
# core/CMakeLists.txt (checked below) and ARCHITECTURE.md's drawing.
declare -A ROOMS=(
  [base]=""
  [tensor]="base"
  [text]="base"
  [config]="base text"
  [cpu]="base"
  [tokenizer]="base text"
  [io]="base tensor"
  [gptq_format]="io"
  [model]="gptq_format tokenizer cpu"
  [quant]="gptq_format cpu"
  [backend]="model quant"
  [pipeline]="backend"
  [eval]="backend"
)

# The room of a file under core/: its folder.
room_of() {
  case "$1" in
    core/*/*) local rest=${1#core/}; echo "${rest%%/*}" ;;
    *) echo "" ;;
  esac
}

# Every room reachable from $1's direct rooms, and $1 itself.
reachable() {
  local -A seen=()
  local stack=("$1") r d
  while ((${#stack[@]})); do
    r=${stack[-1]}; unset 'stack[-1]'
    [[ -n ${seen[$r]:-} ]] && continue
    seen[$r]=1
    for d in ${ROOMS[$r]}; do stack+=("$d"); done
  done
  echo "${!seen[@]}"
}

declare -A ALLOWED=()
for r in "${!ROOMS[@]}"; do
  for d in ${ROOMS[$r]}; do
    if [[ -z ${ROOMS[$d]+x} ]]; then echo "layering: room $r lists unknown room $d"; status=1; fi
  done
  ALLOWED[$r]=" $(reachable "$r") "
done

while IFS= read -r file; do
  room=$(room_of "$file")
  if [[ -z $room || -z ${ROOMS[$room]+x} ]]; then
    echo "layering: $file is in no room of the table (tests/layering_test.sh)"; status=1; continue
  fi
  while IFS=: read -r line inc; do
    target=$(room_of "$inc")
    if [[ -z $target || ${ALLOWED[$room]} != *" $target "* ]]; then
      echo "layering: $file:$line: room '$room' includes \"$inc\" (room '${target:-none}'); it may include only:${ALLOWED[$room]}"
      status=1
    fi
  done < <(grep -noE '^\s*#\s*include\s*"core/[^"]+"' "$file" | sed -E 's/^([0-9]+):.*"(core\/[^"]+)"/\1:\2/')
done < <(find core -type f \( -name '*.h' -o -name '*.cpp' \) | sort)

# core/CMakeLists.txt: gptq_core_room(<room> ROOMS <direct rooms> ...) must
# say what the table says.
cmake_rooms=$(awk '/^gptq_core_room\(/ { room = substr($1, 16); rooms = ""; getline;
                    if ($1 == "ROOMS") { $1 = ""; rooms = $0 }
                    gsub(/^ +| +$/, "", rooms); print room ":" rooms }' core/CMakeLists.txt)
for r in "${!ROOMS[@]}"; do
  line=$(grep -E "^$r:" <<<"$cmake_rooms" || true)
  if [[ -z $line ]]; then echo "layering: core/CMakeLists.txt has no gptq_core_room($r ...)"; status=1; continue; fi
  want=$(tr ' ' '\n' <<<"${ROOMS[$r]}" | sed '/^$/d' | sort | tr '\n' ' ')
  have=$(tr ' ' '\n' <<<"${line#*:}" | sed '/^$/d' | sort | tr '\n' ' ')
  if [[ $want != "$have" ]]; then
    echo "layering: core/CMakeLists.txt links room $r to [${have% }], the table says [${want% }]"; status=1
  fi
done
while IFS= read -r line; do
  [[ -n ${ROOMS[${line%%:*}]+x} ]] || { echo "layering: core/CMakeLists.txt has room ${line%%:*}, not in the table"; status=1; }
done <<<"$cmake_rooms"

if grep -rnE '#include\s*[<"](cblas|lapacke|lapack|openblas)|\bcblas_[a-z]|\bLAPACKE_|std::j?thread\b|pthread_create' \
     core capi --include='*.h' --include='*.cpp' | grep -v '^core/cpu/'; then
  echo "layering: BLAS/LAPACK or a thread outside core/cpu/ (the CPU engine owns them)"; status=1
fi
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

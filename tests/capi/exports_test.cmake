# The exported surface of libgptq.so is exactly capi/exports.txt: every
# dynamic symbol the library defines is on the list (and so starts with
# gptq_), every name on the list is defined, and the list equals gptq.h's
# GPTQ_API declarations. An unintended addition or removal fails here with
# the difference named. Arguments: NM, LIB, LIST (capi/exports.txt), HEADER.
execute_process(COMMAND ${NM} -D --defined-only ${LIB}
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm -D failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(exported "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REGEX REPLACE "^[0-9a-fA-F]* *[A-Za-z] " "" sym "${line}")
  string(REGEX REPLACE "@.*$" "" sym "${sym}")
  # The version node itself (GPTQ_<ABI>) is an absolute symbol; allow exactly it.
  if(sym MATCHES "^GPTQ_[0-9]+$")
    continue()
  endif()
  list(APPEND exported "${sym}")
endforeach()

file(STRINGS ${LIST} listed REGEX "^[^#]")
file(READ ${HEADER} header)
string(REGEX MATCHALL "GPTQ_API[^(;]*[ *]gptq_[a-z0-9_]+\\(" decls "${header}")
set(declared "")
foreach(d IN LISTS decls)
  string(REGEX REPLACE ".*[ *](gptq_[a-z0-9_]+)\\($" "\\1" name "${d}")
  list(APPEND declared "${name}")
endforeach()

# Fails naming what `have` holds beyond `want` and what it lacks.
function(compare have have_name want want_name)
  set(extra ${have})
  list(REMOVE_ITEM extra ${want})
  set(missing ${want})
  list(REMOVE_ITEM missing ${have})
  if(extra OR missing)
    list(SORT extra)
    list(SORT missing)
    string(REPLACE ";" " " extra "${extra}")
    string(REPLACE ";" " " missing "${missing}")
    message(FATAL_ERROR "${have_name} and ${want_name} differ:\n"
                        "  added (in ${have_name}, not in ${want_name}): ${extra}\n"
                        "  removed (in ${want_name}, not in ${have_name}): ${missing}\n"
                        "A change to the exported C API is made in capi/exports.txt on purpose; see its ABI rule.")
  endif()
endfunction()

list(LENGTH listed n)
if(n LESS 10)
  message(FATAL_ERROR "${LIST} lists only ${n} symbols")
endif()
set(sorted ${listed})
list(SORT sorted)
list(REMOVE_DUPLICATES sorted)
if(NOT sorted STREQUAL listed)
  message(FATAL_ERROR "${LIST} is not sorted or holds a name twice")
endif()
compare("${exported}" "libgptq.so's exports" "${listed}" "capi/exports.txt")
compare("${declared}" "gptq.h's GPTQ_API declarations" "${listed}" "capi/exports.txt")
message(STATUS "libgptq.so exports the ${n} symbols of capi/exports.txt, as gptq.h declares them")

# GPTQ_DEPRECATED works as gptq.h says: a C99 caller of a deprecated function
# gets the compiler's warning naming the replacement, and none when it defines
# GPTQ_NO_DEPRECATION_WARNINGS. Arguments: CC (the C compiler), INCLUDE (the
# directory holding gptq/gptq.h), SOURCE (deprecated_use.c).
set(flags -std=c99 -pedantic -Wall -Werror -fsyntax-only -I${INCLUDE} ${SOURCE})
execute_process(COMMAND ${CC} ${flags} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "calling gptq_perplexity compiled without a deprecation warning")
endif()
if(NOT err MATCHES "deprecated" OR NOT err MATCHES "use gptq_evaluate")
  message(FATAL_ERROR "expected a deprecation warning naming gptq_evaluate, got:\n${out}${err}")
endif()
execute_process(COMMAND ${CC} -DGPTQ_NO_DEPRECATION_WARNINGS ${flags}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "GPTQ_NO_DEPRECATION_WARNINGS did not silence the warning:\n${out}${err}")
endif()
message(STATUS "GPTQ_DEPRECATED warns, and GPTQ_NO_DEPRECATION_WARNINGS silences it")

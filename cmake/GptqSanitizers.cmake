# GPTQ_SANITIZE=address,undefined instruments everything we compile (the asan
# preset). UBSan findings abort, so a test that trips one fails.
if(GPTQ_SANITIZE)
  add_compile_options(-fsanitize=${GPTQ_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GPTQ_SANITIZE})
  # clang links a C program with the C half of UBSan's runtime only, while
  # libgptq.so's C++ inside calls the C++ half (vptr and function-type
  # checks), which itself needs libstdc++.
  if(CMAKE_C_COMPILER_ID MATCHES "Clang")
    add_link_options($<$<LINK_LANGUAGE:C>:-fsanitize-link-c++-runtime$<SEMICOLON>-lstdc++>)
  endif()
endif()

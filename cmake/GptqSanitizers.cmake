# GPTQ_SANITIZE=address,undefined instruments everything we compile (the asan
# preset). UBSan findings abort, so a test that trips one fails.
if(GPTQ_SANITIZE)
  add_compile_options(-fsanitize=${GPTQ_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${GPTQ_SANITIZE})
endif()

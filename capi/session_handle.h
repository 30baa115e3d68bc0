// What a gptq_session handle is: the model it generates with and its
// validated GenerationConfig. Each gptq_generate call makes its own KV cache
// and sampler, so a session carries no state between calls.
#pragma once

#include "capi/model_handle.h"
#include "gptq/gptq.h"
#include "schema/gptq_generated.h"

struct gptq_session {
  const gptq_model *model = nullptr;
  gptq::schema::GenerationConfigT config;
};

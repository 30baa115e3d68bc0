// What a gptq_session handle is: the model it generates with, its validated
// GenerationConfig, the threads of the context it was made with (shared, so
// the context may go first), the forward engine it runs on (shared with its
// backend, likewise) and its progress callback. Each gptq_generate
// call makes its own KV cache and sampler, so a session carries no state
// between calls.
#pragma once

#include <memory>

#include "capi/model_handle.h"
#include "core/backend/forward_engine.h"
#include "core/cpu/thread_pool.h"
#include "gptq/gptq.h"
#include "schema/gptq_generated.h"

struct gptq_session {
  const gptq_model *model = nullptr;
  gptq::schema::GenerationConfigT config;
  std::shared_ptr<gptq::ThreadPool> pool;
  std::shared_ptr<const gptq::ForwardEngine> engine;
  gptq_progress_fn progress = nullptr;
  void *progress_user = nullptr;
};

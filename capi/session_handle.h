// What a gptq_session handle is: the context and model it generates with
// (both kept alive by it, so a binding may destroy them first), its validated
// GenerationConfig, the context's threads and forward engine it runs on, and
// its progress callback. Each gptq_generate (or gptq_generate_batch) call
// makes its own KV cache and samplers, so a session carries no state between
// calls.
#pragma once

#include "capi/context_handle.h"
#include "capi/handle_ref.h"
#include "capi/model_handle.h"
#include "core/backend/forward_engine.h"
#include "core/cpu/thread_pool.h"
#include "gptq/gptq.h"
#include "schema/gptq_generated.h"

struct gptq_session : gptq::capi::RefCounted {
  gptq::capi::Ref<gptq_context> context;
  gptq::capi::Ref<const gptq_model> model;
  gptq::schema::GenerationConfigT config;
  std::shared_ptr<gptq::ThreadPool> pool;
  std::shared_ptr<const gptq::ForwardEngine> engine;
  gptq_progress_fn progress = nullptr;
  void *progress_user = nullptr;
};

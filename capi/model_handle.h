// What a gptq_model handle is: the core Model, the context it was opened
// with (kept alive by it: a backend's prepared weights live on that context's
// device), and what the C API builds from it on demand — the strings it hands
// out and its weights prepared by the context's forward engine. Models are
// shared across threads, so anything computed on demand is computed once and
// never changes after.
#pragma once

#include <memory>
#include <map>
#include <mutex>
#include <string>

#include "core/backend/forward_engine.h"
#include "core/base/error.h"
#include "core/model/model.h"
#include "capi/context_handle.h"
#include "capi/handle_ref.h"
#include "capi/tokenizer_handle.h"
#include "gptq/gptq.h"

struct gptq_model : gptq::capi::RefCounted {
  // First member, so it is released last: what the model holds may live on
  // the context's device.
  gptq::capi::Ref<gptq_context> context;
  std::unique_ptr<gptq::model::Model> model;
  // Mutable: gptq_model_info_json takes a const model yet owns the string.
  mutable std::once_flag info_once;
  mutable std::string info_json;
  // Prepared by the first evaluation or session on each backend (keyed by
  // its name: every CPU context shares one fp32 copy); a preparation that
  // throws leaves nothing, so a later call tries again.
  mutable std::mutex prepared_mutex;
  mutable std::map<std::string, std::shared_ptr<const gptq::PreparedModel>, std::less<>> prepared_by_backend;

  // The model's tokenizer as the handle gptq_model_tokenizer lends (tokenizer null
  // when the directory has none); set by gptq_model_open.
  gptq_tokenizer tokenizer_handle;

  // The tokenizer; Error(Unsupported) naming the directory when it has none.
  const gptq::tokenizer::Tokenizer &tokenizer() const {
    const auto *tok = model->tokenizer();
    if (!tok) gptq::fail(gptq::Status::Unsupported, model->directory().string() + " has no tokenizer.json");
    return *tok;
  }

  // Error(InvalidArgument) unless `ctx` is the context the model was opened
  // with: the model's weights are prepared for that context's backend.
  void require_context(const gptq_context *ctx) const {
    if (ctx != context.get())
      gptq::fail(gptq::Status::InvalidArgument,
                 "the model " + model->directory().string() +
                     " was opened with another context; use a model with the context it was opened with");
  }

  // Prepared on `pool` (the context's threads) on first use.
  std::shared_ptr<const gptq::PreparedModel> prepared(const gptq::ForwardEngine &engine, gptq::ThreadPool &pool) const {
    const std::lock_guard<std::mutex> lock(prepared_mutex);
    auto it = prepared_by_backend.find(engine.backend());
    if (it == prepared_by_backend.end()) {
      const gptq::Compute compute(pool);
      it = prepared_by_backend
               .emplace(std::string(engine.backend()), engine.prepare(compute, model->spec(), model->weights()))
               .first;
    }
    return it->second;
  }
};

// The context and model a command works on, freed on every path out.
#pragma once

#include <optional>
#include <string>

#include "gptq/gptq.h"

namespace gptq::cli {

struct Session {
  gptq_context *context = nullptr;
  gptq_model *model = nullptr;

  Session() = default;
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  ~Session() {
    gptq_model_destroy(model);
    gptq_context_destroy(context);
  }

  // Creates the context (runtime JSON; "" for defaults) if there is none yet.
  gptq_status create_context(const std::string &runtime_json = "") {
    if (context) return GPTQ_OK;
    return gptq_context_create(runtime_json.c_str(), &context);
  }

  // A context on `backend` ("auto", "cpu" or "cuda": the command's
  // --backend, checked by backend_option), with `threads` when given.
  gptq_status create_backend_context(const std::string &backend, std::optional<long long> threads) {
    std::string json = "{\"backend\": \"" + backend + "\"";
    if (threads) json += ", \"threads\": " + std::to_string(*threads);
    return create_context(json + "}");
  }

  gptq_status open_model(const std::string &dir) {
    if (gptq_status st = create_context(); st != GPTQ_OK) return st;
    return gptq_model_open(context, dir.c_str(), &model);
  }
};

}  // namespace gptq::cli

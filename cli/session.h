// The context and model a command works on, freed on every path out.
#pragma once

#include <cstdio>
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
  // --backend, checked by backend_option), with `threads` when given. With
  // `announce`, says on stderr where the work runs — auto's choice is not
  // the user's, so the line is how they learn it; a --json run leaves it to
  // the report's "backend" and keeps stderr for errors. With `verbose` (the
  // command's --verbose) the library's log lines of level info and above go
  // to stderr too: what it decided and why (the backend, how the calibration
  // rows are split, where device memory went).
  gptq_status create_backend_context(const std::string &backend, std::optional<long long> threads,
                                     bool announce, bool verbose) {
    std::string json = "{\"backend\": \"" + backend + "\"";
    if (threads) json += ", \"threads\": " + std::to_string(*threads);
    if (verbose) json += ", \"log_level\": \"info\"";
    if (gptq_status st = create_context(json + "}"); st != GPTQ_OK || !announce) return st;
    const char *chosen = nullptr, *device = nullptr;
    if (gptq_status st = gptq_context_backend(context, &chosen); st != GPTQ_OK) return st;
    if (gptq_status st = gptq_context_device_name(context, &device); st != GPTQ_OK) return st;
    const bool fell_back = backend == "auto" && std::string(chosen) == "cpu";
    std::fprintf(stderr, "backend: %s (%s)%s\n", chosen, device,
                 fell_back ? "; auto found no usable CUDA device (gptq info --backend cuda says why)" : "");
    return GPTQ_OK;
  }

  gptq_status open_model(const std::string &dir) {
    if (gptq_status st = create_context(); st != GPTQ_OK) return st;
    return gptq_model_open(context, dir.c_str(), &model);
  }
};

}  // namespace gptq::cli

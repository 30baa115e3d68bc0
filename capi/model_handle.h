// What a gptq_model handle is: the core Model plus the strings the C API
// hands out. Models are shared across threads, so anything computed on
// demand is computed once (std::call_once) and never changes after.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/model/model.h"
#include "gptq/gptq.h"

struct gptq_model {
  std::unique_ptr<gptq::model::Model> model;
  // Mutable: gptq_model_info_json takes a const model yet owns the string.
  mutable std::once_flag info_once;
  mutable std::string info_json;
};

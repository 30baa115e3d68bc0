// The CPU engines core tests run the pipeline, perplexity and generation on
// (with test_pool()'s threads), and the way they prepare a model for them.
// Global names, so tests in any namespace call them unqualified.
#pragma once

#include <memory>

#include "core/backend/cpu_forward_engine.h"
#include "core/backend/cpu_quantize_engine.h"
#include "core/model/model.h"
#include "tests/support/test_compute.h"

inline const gptq::CpuForwardEngine &test_forward_engine() {
  static const gptq::CpuForwardEngine engine;
  return engine;
}

inline const gptq::CpuQuantizeEngine &test_quantize_engine() {
  static const gptq::CpuQuantizeEngine engine;
  return engine;
}

// `model`'s weights prepared by the CPU forward engine.
inline std::shared_ptr<const gptq::PreparedModel> test_prepare(const gptq::model::Model &model) {
  return test_forward_engine().prepare(test_compute(), model.spec(), model.weights());
}

// A C progress callback (gptq_progress_fn: non-zero cancels) as core's
// Progress (false cancels). NULL gives a Progress that never cancels.
#pragma once

#include <string>

#include "core/base/progress.h"
#include "gptq/gptq.h"

namespace gptq::capi {

inline Progress progress_from(gptq_progress_fn fn, void *user) {
  if (!fn) return Progress();
  return Progress([fn, user](std::string_view stage, uint64_t done, uint64_t total) {
    return fn(user, std::string(stage).c_str(), done, total) == 0;
  });
}

}  // namespace gptq::capi

// How the gptq tool reports a failed library call: the status name and the
// library's own message (gptq_last_error) on stderr, exit code 1.
#pragma once

#include <cstdio>

#include "gptq/gptq.h"

namespace gptq::cli {

inline int report_failure(gptq_status status) {
  std::fprintf(stderr, "gptq: error (%s): %s\n", gptq_status_name(status), gptq_last_error());
  return 1;
}

}  // namespace gptq::cli

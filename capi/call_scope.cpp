#include "capi/call_scope.h"

#include <string>
#include <vector>

#include "capi/api_guard.h"

namespace gptq::capi {
namespace {

struct Running {
  const gptq_context *ctx;
  const char *api;
};

// The calls in progress on this thread, outermost first: more than one only
// when a callback calls into another context.
thread_local std::vector<Running> t_running;

}  // namespace

ContextCall::ContextCall(const gptq_context *ctx, const char *api) {
  for (const Running &r : t_running)
    if (r.ctx == ctx)
      throw ReentrantCall(std::string("called from inside a callback of ") + r.api +
                                  ", which is running on the same context; a callback may call gptq_last_error "
                                  "and functions on other contexts, not on the running call's context, its "
                                  "models or its sessions");
  t_running.push_back({ctx, api});  // may throw bad_alloc: then nothing is marked or held
  hold_ = Ref<const gptq_context>(ctx);
}

ContextCall::~ContextCall() { t_running.pop_back(); }

}  // namespace gptq::capi

// gptq.h's reentrancy rule for callbacks. A progress, log or token callback
// runs inside a library call, on the thread that made it. From there a call on
// the same context (or a model or session made with it) would re-enter state
// the running call holds — the log sink's lock, the context's threads, the
// session's KV cache — and deadlock or corrupt it. Every entry point that
// takes such a handle opens a ContextCall, which refuses (ReentrantCall,
// naming the running call) when this thread is already inside a call on that
// context, and otherwise marks it as running until the scope ends.
#pragma once

#include "capi/context_handle.h"
#include "capi/handle_ref.h"

namespace gptq::capi {

class ContextCall {
 public:
  // `api` is the entry point's name (static storage, e.g. __func__).
  ContextCall(const gptq_context *ctx, const char *api);
  ~ContextCall();
  ContextCall(const ContextCall &) = delete;
  ContextCall &operator=(const ContextCall &) = delete;

 private:
  // Holds the context for the whole call, so a callback that destroys the
  // caller's reference does not pull it from under the call.
  Ref<const gptq_context> hold_;
};

}  // namespace gptq::capi

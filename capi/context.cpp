// gptq_context_*: creating a runtime, its log sink and what it reports.
#include <string>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "core/config/typed.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

extern "C" {

GPTQ_API gptq_status gptq_context_create(const char *runtime_json, gptq_context **out) {
  return guard(__func__, [&] {
    require_arg(out, "out");
    auto config = gptq::config::parse_runtime_config(runtime_json ? runtime_json : "");
    *out = new gptq_context(config);
  });
}

GPTQ_API void gptq_context_destroy(gptq_context *ctx) {
  // Releases the caller's reference; the models and sessions made with ctx
  // hold theirs. Destruction cannot fail; the guard only keeps a throwing
  // backend from crossing the boundary.
  (void)guard(__func__, [&] { gptq::capi::release(ctx); });
}

GPTQ_API gptq_status gptq_context_set_log(gptq_context *ctx, gptq_log_fn fn, void *user) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);  // the replay below runs the callback
    if (!fn) {
      ctx->runtime.logger().set_sink(nullptr);
      return;
    }
    ctx->runtime.logger().set_sink([fn, user](gptq::LogLevel level, const std::string &msg) {
      fn(user, static_cast<gptq_log_level>(level), msg.c_str());
    });
  });
}

GPTQ_API gptq_status gptq_context_backend(const gptq_context *ctx, const char **name) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);
    require_arg(name, "name");
    ctx->backend_name = std::string(ctx->runtime.backend().name());
    *name = ctx->backend_name.c_str();
  });
}

GPTQ_API gptq_status gptq_context_device_name(const gptq_context *ctx, const char **name) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);
    require_arg(name, "name");
    ctx->device_name = ctx->runtime.backend().device_name();
    *name = ctx->device_name.c_str();
  });
}

GPTQ_API gptq_status gptq_context_runtime_json(const gptq_context *ctx, const char **json) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    const gptq::capi::ContextCall call(ctx, api);
    require_arg(json, "json");
    ctx->runtime_json = gptq::config::to_json(ctx->runtime.config());
    *json = ctx->runtime_json.c_str();
  });
}

}  // extern "C"

// gptq_model_*: opening a model directory and describing it.
#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "capi/model_handle.h"
#include "core/config/typed.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

extern "C" {

GPTQ_API gptq_status gptq_model_open(gptq_context *ctx, const char *dir, gptq_model **out) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    require_arg(dir, "dir");
    require_arg(out, "out");
    const gptq::capi::ContextCall call(ctx, api);
    auto handle = std::make_unique<gptq_model>();
    handle->context = gptq::capi::Ref<gptq_context>(ctx);
    handle->model = gptq::model::Model::open(dir);
    handle->tokenizer_handle.tokenizer = handle->model->tokenizer();
    const auto &spec = handle->model->spec();
    ctx->runtime.logger().info("opened " + std::string(dir) + ": " + spec.model_type + ", " +
                               std::to_string(spec.num_layers) + " layers, hidden " +
                               std::to_string(spec.hidden_size) + ", " +
                               std::to_string(handle->model->weights().shard_count()) + " shard(s)");
    *out = handle.release();
  });
}

GPTQ_API void gptq_model_destroy(gptq_model *model) {
  // Releases the caller's reference; its sessions hold theirs.
  (void)guard(__func__, [&] { gptq::capi::release(model); });
}

GPTQ_API gptq_status gptq_model_info_json(const gptq_model *model, const char **json) {
  return guard(__func__, [&, api = __func__] {
    require_arg(model, "model");
    const gptq::capi::ContextCall call(model->context.get(), api);
    require_arg(json, "json");
    std::call_once(model->info_once,
                   [model] { model->info_json = gptq::config::to_json(model->model->info()); });
    *json = model->info_json.c_str();
  });
}

}  // extern "C"

// gptq_quantize_model: the whole pipeline behind one call.
#include <string>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "capi/progress_adapter.h"
#include "core/config/typed.h"
#include "core/model/model.h"
#include "core/pipeline/quantize_model.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

extern "C" {

GPTQ_API gptq_status gptq_quantize_model(gptq_context *ctx, const char *model_dir,
                                         const char *quantize_json, const char *out_dir,
                                         gptq_progress_fn fn, void *user, const char **report_json) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    require_arg(model_dir, "model_dir");
    require_arg(out_dir, "out_dir");
    require_arg(report_json, "report_json");
    const gptq::capi::ContextCall call(ctx, api);
    const gptq::schema::QuantizeConfigT config =
        gptq::config::parse_quantize_config(quantize_json ? quantize_json : "");
    const auto source = gptq::model::Model::open(model_dir);
    gptq::quant::QuantizeModelOptions options;
    options.overwrite = config.overwrite;
    options.compare_rtn = config.compare_rtn;
    options.device = &ctx->runtime.backend();
    const gptq::schema::QuantizeReportT report =
        gptq::quant::quantize_model(*source, config, out_dir, options, *ctx->runtime.pool(),
                                    *ctx->runtime.quantize_engine(), *ctx->runtime.forward_engine(),
                                    gptq::capi::progress_from(fn, user), ctx->runtime.logger());
    ctx->report_json = gptq::config::to_json(report);
    *report_json = ctx->report_json.c_str();
  });
}

}  // extern "C"

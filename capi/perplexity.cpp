// gptq_perplexity: the project's perplexity protocol across the ABI.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "capi/api_guard.h"
#include "capi/progress_adapter.h"
#include "capi/context_handle.h"
#include "capi/model_handle.h"
#include "core/config/typed.h"
#include "core/eval/perplexity.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

extern "C" {

GPTQ_API gptq_status gptq_perplexity(gptq_context *ctx, const gptq_model *model, const char *text,
                                     size_t len, const char *eval_json, gptq_progress_fn fn, void *user,
                                     double *ppl, size_t *windows, size_t *tokens) {
  return guard(__func__, [&] {
    require_arg(ctx, "ctx");
    require_arg(model, "model");
    if (len > 0) require_arg(text, "text");
    require_arg(ppl, "ppl");
    const gptq::schema::EvalConfigT config = gptq::config::parse_eval_config(eval_json ? eval_json : "");
    const gptq::eval::PerplexityOptions options{config.seqlen, config.max_windows};
    gptq::eval::check_perplexity_options(model->model->spec(), options);  // before tokenizing
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = model->tokenizer().encode(std::string_view(text ? text : "", len), true);
    const auto engine = ctx->runtime.forward_engine();
    const auto prepared = model->prepared(*engine);
    const gptq::Progress progress = gptq::capi::progress_from(fn, user);
    const gptq::eval::PerplexityResult r =
        gptq::eval::perplexity(*ctx->runtime.pool(), *engine, *prepared, ids, options, progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char line[160];
    std::snprintf(line, sizeof line, "perplexity %.4f over %lld windows (%lld tokens) in %.1f s", r.ppl,
                  static_cast<long long>(r.windows), static_cast<long long>(r.tokens), seconds);
    ctx->runtime.logger().info(line);
    *ppl = r.ppl;
    if (windows) *windows = static_cast<size_t>(r.windows);
    if (tokens) *tokens = static_cast<size_t>(r.tokens);
  });
}

}  // extern "C"

// gptq_evaluate: the project's perplexity protocol across the ABI, its
// EvalReport as JSON; and gptq_perplexity, the deprecated form of the same
// call that returns three numbers.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "capi/handle_ref.h"
#include "capi/model_handle.h"
#include "capi/progress_adapter.h"
#include "core/config/typed.h"
#include "core/eval/perplexity.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

namespace {

// The one implementation behind both entry points; `api` names the one called.
gptq::schema::EvalReportT evaluate(const char *api, gptq_context *ctx, const gptq_model *model, const char *text,
                                   size_t len, const char *eval_json, gptq_progress_fn fn, void *user) {
  require_arg(ctx, "ctx");
  require_arg(model, "model");
  if (len > 0) require_arg(text, "text");
  const gptq::capi::ContextCall call(ctx, api);
  model->require_context(ctx);
  const gptq::capi::Ref<const gptq_model> hold_model(model);  // a callback may destroy the caller's reference
  gptq::schema::EvalReportT report;
  report.config = std::make_unique<gptq::schema::EvalConfigT>(
      gptq::config::parse_eval_config(eval_json ? eval_json : ""));
  const gptq::eval::PerplexityOptions options{report.config->seqlen, report.config->max_windows};
  gptq::eval::check_perplexity_options(model->model->spec(), options);  // before tokenizing
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = model->tokenizer().encode(std::string_view(text ? text : "", len), true);
  const auto engine = ctx->runtime.forward_engine();
  const auto prepared = model->prepared(*engine, *ctx->runtime.pool());
  const gptq::eval::PerplexityResult r = gptq::eval::perplexity(*ctx->runtime.pool(), *engine, *prepared, ids,
                                                                options, gptq::capi::progress_from(fn, user));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.ppl = r.ppl;
  report.nll = r.nll;
  report.windows = r.windows;
  report.tokens = r.tokens;
  report.text_tokens = static_cast<int64_t>(ids.size());
  report.window_nll = r.window_nll;
  report.backend = std::string(engine->backend());
  char line[160];
  std::snprintf(line, sizeof line, "perplexity %.4f over %lld windows (%lld tokens) in %.1f s", r.ppl,
                static_cast<long long>(r.windows), static_cast<long long>(r.tokens), report.seconds);
  ctx->runtime.logger().info(line);
  return report;
}

}  // namespace

extern "C" {

GPTQ_API gptq_status gptq_evaluate(gptq_context *ctx, const gptq_model *model, const char *text, size_t len,
                                   const char *eval_json, gptq_progress_fn fn, void *user,
                                   const char **report_json) {
  return guard(__func__, [&, api = __func__] {
    require_arg(report_json, "report_json");
    // The report goes into ctx after evaluate() let go of it: hold it across
    // both, as a callback may destroy the caller's reference.
    const gptq::capi::Ref<gptq_context> hold(ctx);
    const gptq::schema::EvalReportT report = evaluate(api, ctx, model, text, len, eval_json, fn, user);
    ctx->eval_report_json = gptq::config::to_json(report);
    *report_json = ctx->eval_report_json.c_str();
  });
}

GPTQ_API gptq_status gptq_perplexity(gptq_context *ctx, const gptq_model *model, const char *text,
                                     size_t len, const char *eval_json, gptq_progress_fn fn, void *user,
                                     double *ppl, size_t *windows, size_t *tokens) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ppl, "ppl");
    const gptq::schema::EvalReportT report = evaluate(api, ctx, model, text, len, eval_json, fn, user);
    *ppl = report.ppl;
    if (windows) *windows = static_cast<size_t>(report.windows);
    if (tokens) *tokens = static_cast<size_t>(report.tokens);
  });
}

}  // extern "C"

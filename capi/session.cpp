// gptq_session_*, gptq_generate and gptq_generate_batch: streaming text
// generation across the ABI.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/context_handle.h"
#include "capi/progress_adapter.h"
#include "capi/session_handle.h"
#include "core/config/typed.h"
#include "core/eval/generate.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

extern "C" {

GPTQ_API gptq_status gptq_session_create(gptq_context *ctx, const gptq_model *model,
                                         const char *generation_json, gptq_session **out) {
  return guard(__func__, [&, api = __func__] {
    require_arg(ctx, "ctx");
    require_arg(model, "model");
    require_arg(out, "out");
    const gptq::capi::ContextCall call(ctx, api);
    model->require_context(ctx);
    auto session = std::make_unique<gptq_session>();
    session->context = gptq::capi::Ref<gptq_context>(ctx);
    session->model = gptq::capi::Ref<const gptq_model>(model);
    session->pool = ctx->runtime.pool();
    session->engine = ctx->runtime.forward_engine();
    session->config = gptq::config::parse_generation_config(generation_json ? generation_json : "");
    (void)model->tokenizer();  // refuse a model without one now
    (void)model->prepared(*session->engine, *session->pool);  // now, so the first gptq_generate is not the slow one
    ctx->runtime.logger().debug("session created: max_new_tokens " +
                                std::to_string(session->config.max_new_tokens));
    *out = session.release();
  });
}

GPTQ_API void gptq_session_destroy(gptq_session *session) {
  // Releases the caller's reference; a gptq_generate running it holds its own.
  (void)guard(__func__, [&] { gptq::capi::release(session); });
}

GPTQ_API gptq_status gptq_session_set_progress(gptq_session *session, gptq_progress_fn fn, void *user) {
  return guard(__func__, [&, api = __func__] {
    require_arg(session, "session");
    const gptq::capi::ContextCall call(session->context.get(), api);
    session->progress = fn;
    session->progress_user = fn ? user : nullptr;
  });
}

GPTQ_API gptq_status gptq_generate(gptq_session *session, const char *prompt, size_t len,
                                   gptq_token_fn on_token, void *user) {
  return guard(__func__, [&, api = __func__] {
    require_arg(session, "session");
    if (len > 0) require_arg(prompt, "prompt");
    const gptq::capi::ContextCall call(session->context.get(), api);
    const gptq::capi::Ref<gptq_session> hold(session);  // a callback may destroy the caller's reference
    const gptq_model *model = session->model.get();
    gptq::eval::TokenSink sink;
    if (on_token)
      sink = [on_token, user](std::string_view piece, int32_t id) {
        return on_token(user, std::string(piece).c_str(), id) == 0;
      };
    gptq::eval::generate(*session->pool, *session->engine, *model->prepared(*session->engine, *session->pool), model->tokenizer(),
                         std::string_view(prompt ? prompt : "", len), session->config, sink,
                         gptq::capi::progress_from(session->progress, session->progress_user));
  });
}

GPTQ_API gptq_status gptq_generate_batch(gptq_session *session, const char *const *prompts, const size_t *lens,
                                         size_t count, gptq_batch_token_fn on_token, void *user) {
  return guard(__func__, [&, api = __func__] {
    require_arg(session, "session");
    if (count == 0) gptq::fail(gptq::Status::InvalidArgument, "argument 'count' is 0: there is no prompt");
    require_arg(prompts, "prompts");
    require_arg(lens, "lens");
    std::vector<std::string_view> texts(count);
    for (size_t i = 0; i < count; ++i) {
      if (lens[i] > 0 && !prompts[i])
        gptq::fail(gptq::Status::InvalidArgument,
                   "argument 'prompts[" + std::to_string(i) + "]' is NULL with lens[" + std::to_string(i) + "] " +
                       std::to_string(lens[i]));
      texts[i] = std::string_view(prompts[i] ? prompts[i] : "", lens[i]);
    }
    const gptq::capi::ContextCall call(session->context.get(), api);
    const gptq::capi::Ref<gptq_session> hold(session);  // a callback may destroy the caller's reference
    const gptq_model *model = session->model.get();
    gptq::eval::BatchTokenSink sink;
    if (on_token)
      sink = [on_token, user](std::size_t sequence, std::string_view piece, int32_t id) {
        return on_token(user, sequence, std::string(piece).c_str(), id) == 0;
      };
    gptq::eval::generate_batch(*session->pool, *session->engine, *model->prepared(*session->engine, *session->pool),
                               model->tokenizer(), texts, session->config, sink,
                               gptq::capi::progress_from(session->progress, session->progress_user));
  });
}

}  // extern "C"

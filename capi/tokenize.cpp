// gptq_tokenizer_*, gptq_model_tokenizer, gptq_tokenize / gptq_detokenize: a
// tokenizer across the ABI, opened on its own or lent by a model.
#include <string>
#include <string_view>
#include <vector>

#include "capi/api_guard.h"
#include "capi/call_scope.h"
#include "capi/model_handle.h"
#include "capi/output_buffer.h"
#include "capi/tokenizer_handle.h"
#include "core/model/tokenizer_files.h"

using gptq::capi::guard;
using gptq::capi::require_arg;

namespace {

void check_flags(uint32_t flags, uint32_t known, const char *name) {
  if (flags & ~known)
    gptq::fail(gptq::Status::InvalidArgument, std::string("argument 'flags' has bits ") +
                                                  std::to_string(flags & ~known) +
                                                  " that are not " + name + " flags");
}

}  // namespace

extern "C" {

GPTQ_API gptq_status gptq_tokenizer_open(const char *path, gptq_tokenizer **out) {
  return guard(__func__, [&] {
    require_arg(path, "path");
    require_arg(out, "out");
    if (!*path) gptq::fail(gptq::Status::InvalidArgument, "argument 'path' is empty");
    auto handle = std::make_unique<gptq_tokenizer>();
    handle->owned = std::make_unique<gptq::tokenizer::Tokenizer>(gptq::model::open_tokenizer(path));
    handle->tokenizer = handle->owned.get();
    *out = handle.release();
  });
}

GPTQ_API void gptq_tokenizer_destroy(gptq_tokenizer *tokenizer) {
  (void)guard(__func__, [&] {
    // A model's tokenizer is the model's to free: destroying it here is a no-op.
    if (tokenizer && tokenizer->owned) delete tokenizer;
  });
}

GPTQ_API gptq_status gptq_model_tokenizer(const gptq_model *model, const gptq_tokenizer **out) {
  return guard(__func__, [&, api = __func__] {
    require_arg(model, "model");
    const gptq::capi::ContextCall call(model->context.get(), api);
    require_arg(out, "out");
    (void)model->tokenizer();  // Unsupported, naming the directory, when it has none
    *out = &model->tokenizer_handle;
  });
}

GPTQ_API gptq_status gptq_tokenize(const gptq_tokenizer *tokenizer, const char *text, size_t len,
                                   uint32_t flags, int32_t *ids, size_t cap, size_t *n) {
  return guard(__func__, [&] {
    require_arg(tokenizer, "tokenizer");
    if (len > 0) require_arg(text, "text");
    if (cap > 0) require_arg(ids, "ids");
    require_arg(n, "n");
    check_flags(flags, GPTQ_TOKENIZE_NO_SPECIAL, "gptq_tokenize");
    std::vector<int32_t> out = tokenizer->tokenizer->encode(std::string_view(text ? text : "", len),
                                                            !(flags & GPTQ_TOKENIZE_NO_SPECIAL));
    gptq::capi::write_elements(out.data(), out.size(), ids, cap, n);
  });
}

GPTQ_API gptq_status gptq_detokenize(const gptq_tokenizer *tokenizer, const int32_t *ids, size_t n,
                                     uint32_t flags, char *buf, size_t cap, size_t *len) {
  return guard(__func__, [&] {
    require_arg(tokenizer, "tokenizer");
    if (n > 0) require_arg(ids, "ids");
    if (cap > 0) require_arg(buf, "buf");
    require_arg(len, "len");
    check_flags(flags, GPTQ_DETOKENIZE_SKIP_SPECIAL, "gptq_detokenize");
    const auto &tok = *tokenizer->tokenizer;
    for (size_t i = 0; i < n; ++i) {
      if (!tok.id_to_token(ids[i]))
        gptq::fail(gptq::Status::InvalidArgument,
                   "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                       " is not a token of this tokenizer (vocabulary size " +
                       std::to_string(tok.vocab_size()) + ")");
    }
    std::string text = tok.decode(std::span<const int32_t>(ids, n),
                                  (flags & GPTQ_DETOKENIZE_SKIP_SPECIAL) != 0);
    gptq::capi::write_output(text.data(), text.size(), true, buf, cap, len);
  });
}

}  // extern "C"

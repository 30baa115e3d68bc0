// What a gptq_tokenizer handle is: a tokenizer that the handle owns (from
// gptq_tokenizer_open) or one that a model owns and lends (gptq_model_tokenizer).
// Either way it is immutable, so it may be used by many threads at once.
#pragma once

#include <memory>

#include "core/tokenizer/tokenizer.h"
#include "gptq/gptq.h"

struct gptq_tokenizer {
  std::unique_ptr<gptq::tokenizer::Tokenizer> owned;  // null when lent by a model
  const gptq::tokenizer::Tokenizer *tokenizer = nullptr;
};

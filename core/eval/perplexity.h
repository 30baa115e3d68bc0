// Perplexity with the project's protocol (../shared/data/README.md): the
// token ids of the whole text (tokenized as transformers' tokenizer(text),
// special tokens once at the start) cut into non-overlapping windows of
// `seqlen`, the remainder dropped; each window is run on its own from
// position 0 and its seqlen - 1 next-token predictions are scored:
// ppl = exp(mean NLL over all scored tokens of all windows).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/backend/forward_engine.h"
#include "core/base/progress.h"
#include "core/cpu/thread_pool.h"

namespace gptq::eval {

struct PerplexityOptions {
  std::int64_t seqlen = 512;
  std::int64_t max_windows = 0;  // 0: every window; else at most this many from the start
};

struct PerplexityResult {
  double ppl = 0.0;                    // exp(nll)
  double nll = 0.0;                    // mean NLL of every scored token
  std::int64_t windows = 0;
  std::int64_t tokens = 0;             // scored tokens: windows * (seqlen - 1)
  std::vector<double> window_nll;      // mean NLL of each window, in order
};

// Error(InvalidArgument) when seqlen < 2 or is longer than the model's
// context (naming both; core/model/context_length.h): what perplexity()
// checks first, for callers that want to refuse before tokenizing a text.
void check_perplexity_options(const model::ModelSpec &spec, const PerplexityOptions &options);

// Runs `model` on `engine` (CPU work on `pool`). Reports stage "perplexity" (done windows of total): 0 at
// the start, after each window, and in between while a window runs
// (ProgressMeter); Error(Cancelled) when the callback stops it.
// Error(InvalidArgument) when check_perplexity_options refuses, or the ids
// make no whole window (naming both counts).
PerplexityResult perplexity(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                            std::span<const std::int32_t> ids, const PerplexityOptions &options,
                            const Progress &progress = {});

// Mean NLL of the next-token predictions: row i of logits ([n, vocab])
// predicts targets[i]; log-softmax in fp32 (max-subtracted), sums in double
// (rows on the pool, their NLLs added in row order).
double mean_nll(const Compute &compute, const Matrix &logits, std::span<const std::int32_t> targets);

}  // namespace gptq::eval

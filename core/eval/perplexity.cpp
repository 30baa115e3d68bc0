#include "core/eval/perplexity.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/cpu/row_chunks.h"
#include "core/base/error.h"
#include "core/model/context_length.h"

namespace gptq::eval {

double mean_nll(const Compute &compute, const Matrix &logits, std::span<const std::int32_t> targets) {
  if (static_cast<std::int64_t>(targets.size()) != logits.rows)
    fail(Status::InvalidArgument, "mean_nll: " + std::to_string(targets.size()) + " targets for " +
                                      std::to_string(logits.rows) + " rows of logits");
  for (std::int64_t r = 0; r < logits.rows; ++r) {
    const std::int32_t t = targets[static_cast<std::size_t>(r)];
    if (t < 0 || t >= logits.cols)
      fail(Status::InvalidArgument, "mean_nll: target " + std::to_string(t) + " is outside [0, " +
                                        std::to_string(logits.cols) + ")");
  }
  std::vector<double> nll(static_cast<std::size_t>(logits.rows));
  parallel_rows(compute, logits.rows, logits.cols, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const float *row = logits.row(r);
      const float max = *std::max_element(row, row + logits.cols);
      double sum = 0.0;
      for (std::int64_t c = 0; c < logits.cols; ++c) sum += std::exp(static_cast<double>(row[c] - max));
      const std::int32_t t = targets[static_cast<std::size_t>(r)];
      nll[static_cast<std::size_t>(r)] = std::log(sum) - static_cast<double>(row[t] - max);
    }
  });
  double total = 0.0;
  for (double v : nll) total += v;
  return logits.rows ? total / static_cast<double>(logits.rows) : 0.0;
}

void check_perplexity_options(const model::ModelSpec &spec, const PerplexityOptions &options) {
  const std::int64_t seqlen = options.seqlen;
  if (seqlen < 2) fail(Status::InvalidArgument, "perplexity: seqlen is " + std::to_string(seqlen) + ", must be >= 2");
  if (seqlen > model::context_length(spec))
    fail(Status::InvalidArgument, "perplexity: seqlen " + std::to_string(seqlen) + " exceeds the model's context of " +
                                      model::context_text(spec));
}

PerplexityResult perplexity(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                            std::span<const std::int32_t> ids, const PerplexityOptions &options,
                            const Progress &progress) {
  check_perplexity_options(model.spec(), options);
  const std::int64_t seqlen = options.seqlen;
  std::int64_t windows = static_cast<std::int64_t>(ids.size()) / seqlen;
  if (windows == 0)
    fail(Status::InvalidArgument, "perplexity: the text has " + std::to_string(ids.size()) +
                                      " tokens, fewer than one window of seqlen " + std::to_string(seqlen));
  if (options.max_windows > 0) windows = std::min(windows, options.max_windows);

  PerplexityResult result;
  ProgressMeter meter(progress, "perplexity", static_cast<std::uint64_t>(windows));
  const Compute compute(pool, &meter);
  double nll_sum = 0.0;
  for (std::int64_t w = 0; w < windows; ++w) {
    meter.begin_step(1);
    const auto window = ids.subspan(static_cast<std::size_t>(w * seqlen), static_cast<std::size_t>(seqlen));
    Matrix logits = engine.run(compute, model, window, 1, seqlen, nullptr, false);
    logits.rows = seqlen - 1;  // the last position predicts nothing inside the window
    logits.data.resize(static_cast<std::size_t>(logits.rows * logits.cols));
    const double nll = mean_nll(compute, logits, window.subspan(1));
    result.window_nll.push_back(nll);
    nll_sum += nll * static_cast<double>(seqlen - 1);
    meter.end_step();
  }
  result.windows = windows;
  result.tokens = windows * (seqlen - 1);
  result.nll = nll_sum / static_cast<double>(result.tokens);
  result.ppl = std::exp(result.nll);
  return result;
}

}  // namespace gptq::eval

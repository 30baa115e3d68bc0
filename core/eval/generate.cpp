#include "core/eval/generate.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "core/base/error.h"
#include "core/model/context_length.h"
#include "core/eval/sampler.h"
#include "core/eval/stop_strings.h"

namespace gptq::eval {
namespace {

std::vector<std::int32_t> eos_ids(const model::ModelSpec &spec, const tokenizer::Tokenizer &tok) {
  std::vector<std::int32_t> ids;
  for (std::int64_t id : spec.eos_token_ids) ids.push_back(static_cast<std::int32_t>(id));
  if (auto e = tok.eos_id()) ids.push_back(*e);
  return ids;
}

std::span<float> row_span(Matrix &m, std::int64_t r) {
  return {m.row(r), static_cast<std::size_t>(m.cols)};
}

// Tokenizes a prompt and refuses it, before anything runs, when it is empty
// or does not fit the context with max_new_tokens. `what` names it in the
// messages ("generate: the prompt", "generate_batch: prompt 2").
std::vector<std::int32_t> checked_prompt(const model::ModelSpec &spec, const tokenizer::Tokenizer &tok,
                                         std::string_view prompt, const schema::GenerationConfigT &config,
                                         const std::string &what) {
  std::vector<std::int32_t> ids = tok.encode(prompt, true);
  const auto n = static_cast<std::int64_t>(ids.size());
  if (n == 0) fail(Status::InvalidArgument, what + " has no tokens (and the tokenizer adds none)");
  // Known before the first token, so refused now rather than cut short later.
  const std::int64_t context = model::context_length(spec);
  if (n > context)
    fail(Status::InvalidArgument, what + " has " + std::to_string(n) +
                                      " tokens, more than the model's context of " + model::context_text(spec));
  const std::int64_t capacity = n + config.max_new_tokens;
  if (capacity > context)
    fail(Status::InvalidArgument, what + "'s " + std::to_string(n) + " tokens plus max_new_tokens " +
                                      std::to_string(config.max_new_tokens) + " make " + std::to_string(capacity) +
                                      ", more than the model's context of " + model::context_text(spec) +
                                      "; give max_new_tokens " + std::to_string(context - n) + " or less");
  return ids;
}

// One sequence of a generation: chooses its tokens from its rows of logits
// and streams its text, until it stops.
class SequenceRun {
 public:
  SequenceRun(const tokenizer::Tokenizer &tok, const schema::GenerationConfigT &config,
              const std::vector<std::int32_t> &eos, GenerationResult &result, TokenSink sink)
      : config_(&config), eos_(&eos), result_(&result), sink_(std::move(sink)),
        sampler_(SamplingOptions::from(config)), decoder_(tok, /*skip_special_tokens=*/true), stops_(config.stop),
        history_(result.prompt_ids) {
    // The continuation is decoded as the tail of prompt + continuation, so
    // decoders that treat the start of a text specially (SentencePiece-style
    // Strip of the leading space) do not eat the space before the first new word.
    for (std::int32_t id : result.prompt_ids) (void)decoder_.push(id);
  }

  bool live() const { return live_; }

  // Chooses the next token from `logits` (this sequence's row): the token to
  // run next, or nothing when the sequence has ended with it.
  std::optional<std::int32_t> step(std::span<float> logits) {
    const std::int32_t id = sampler_.next(logits, history_);
    if (std::find(eos_->begin(), eos_->end(), id) != eos_->end()) return end(StopReason::Eos, true);
    history_.push_back(id);
    result_->tokens.push_back(id);
    // The caller asked to stop, or a stop string came: nothing more is sent.
    if (!emit(stops_.push(decoder_.push(id)), id)) return end(StopReason::Sink, false);
    if (stops_.stopped()) return end(StopReason::StopString, false);
    if (static_cast<std::int64_t>(result_->tokens.size()) >= config_->max_new_tokens)
      return end(StopReason::MaxTokens, true);
    return id;
  }

 private:
  bool emit(const std::string &piece, std::int32_t id) {
    result_->text += piece;
    return !sink_ || sink_(piece, id);
  }

  std::nullopt_t end(StopReason reason, bool flush) {
    live_ = false;
    result_->reason = reason;
    if (flush) {
      std::string rest = stops_.push(decoder_.finish());
      if (stops_.stopped()) result_->reason = StopReason::StopString;
      rest += stops_.finish();
      if (!rest.empty()) emit(rest, -1);
    }
    return std::nullopt;
  }

  const schema::GenerationConfigT *config_;
  const std::vector<std::int32_t> *eos_;
  GenerationResult *result_;
  TokenSink sink_;
  Sampler sampler_;
  tokenizer::StreamDecoder decoder_;
  StopStringFilter stops_;
  std::vector<std::int32_t> history_;
  bool live_ = true;
};

// Runs the checked prompts (results[b].prompt_ids) as one batch.
void run_batch(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
               const tokenizer::Tokenizer &tok, const schema::GenerationConfigT &config,
               std::vector<GenerationResult> &results, const BatchTokenSink &sink, const Progress &progress) {
  if (config.max_new_tokens == 0) return;
  const auto batch = static_cast<std::int64_t>(results.size());
  std::int64_t longest = 0, units = 0;
  std::vector<std::int64_t> counts;
  for (const GenerationResult &r : results) {
    counts.push_back(static_cast<std::int64_t>(r.prompt_ids.size()));
    longest = std::max(longest, counts.back());
    units += counts.back() + config.max_new_tokens;
  }
  // Every sequence's tokens: the prompts', then one per generated token.
  ProgressMeter meter(progress, "generate", static_cast<std::uint64_t>(units));
  const Compute compute(pool, &meter);
  // A finished sequence stays at its length, so no run needs more than the
  // longest prompt plus max_new_tokens (which the checks kept in the context).
  const std::unique_ptr<SequenceCache> cache = engine.make_cache(model, batch, longest + config.max_new_tokens);
  std::vector<std::int32_t> ids(static_cast<std::size_t>(batch * longest), 0);
  for (std::int64_t b = 0; b < batch; ++b)
    std::copy(results[static_cast<std::size_t>(b)].prompt_ids.begin(),
              results[static_cast<std::size_t>(b)].prompt_ids.end(), ids.begin() + b * longest);
  meter.begin_step(static_cast<std::uint64_t>(units - batch * config.max_new_tokens));
  Matrix logits = engine.run(compute, model, ids, batch, longest, cache.get(), true, counts);
  meter.end_step();

  const std::vector<std::int32_t> eos = config.stop_at_eos ? eos_ids(model.spec(), tok) : std::vector<std::int32_t>{};
  std::vector<std::unique_ptr<SequenceRun>> runs;
  for (std::size_t b = 0; b < results.size(); ++b) {
    TokenSink one;
    if (sink) one = [&sink, b](std::string_view piece, std::int32_t id) { return sink(b, piece, id); };
    runs.push_back(std::make_unique<SequenceRun>(tok, config, eos, results[b], std::move(one)));
  }
  ids.resize(static_cast<std::size_t>(batch));
  for (;;) {
    std::int64_t live = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto i = static_cast<std::size_t>(b);
      const std::optional<std::int32_t> next = runs[i]->live() ? runs[i]->step(row_span(logits, b)) : std::nullopt;
      ids[i] = next.value_or(0);
      counts[i] = next ? 1 : 0;
      live += counts[i];
    }
    if (live == 0) return;
    meter.begin_step(static_cast<std::uint64_t>(live));
    logits = engine.run(compute, model, ids, batch, 1, cache.get(), true, counts);
    meter.end_step();
  }
}

}  // namespace

GenerationResult generate(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                          const tokenizer::Tokenizer &tok, std::string_view prompt,
                          const schema::GenerationConfigT &config, const TokenSink &sink, const Progress &progress) {
  std::vector<GenerationResult> results(1);
  results[0].prompt_ids = checked_prompt(model.spec(), tok, prompt, config, "generate: the prompt");
  BatchTokenSink one;
  if (sink) one = [&sink](std::size_t, std::string_view piece, std::int32_t id) { return sink(piece, id); };
  run_batch(pool, engine, model, tok, config, results, one, progress);
  return std::move(results[0]);
}

std::vector<GenerationResult> generate_batch(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                                             const tokenizer::Tokenizer &tok,
                                             std::span<const std::string_view> prompts,
                                             const schema::GenerationConfigT &config, const BatchTokenSink &sink,
                                             const Progress &progress) {
  if (prompts.empty()) fail(Status::InvalidArgument, "generate_batch: no prompts");
  std::vector<GenerationResult> results(prompts.size());
  for (std::size_t b = 0; b < prompts.size(); ++b)
    results[b].prompt_ids =
        checked_prompt(model.spec(), tok, prompts[b], config, "generate_batch: prompt " + std::to_string(b));
  run_batch(pool, engine, model, tok, config, results, sink, progress);
  return results;
}

}  // namespace gptq::eval

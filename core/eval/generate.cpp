#include "core/eval/generate.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "core/backend/sample_step.h"
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

// One sequence of a generation: chooses its tokens (or takes those the
// engine chose with its numbers) and streams its text, until it stops.
class SequenceRun {
 public:
  SequenceRun(const tokenizer::Tokenizer &tok, const schema::GenerationConfigT &config,
              const std::vector<std::int32_t> &eos, std::int64_t vocab, GenerationResult &result, TokenSink sink)
      : config_(&config), eos_(&eos), result_(&result), sink_(std::move(sink)),
        sampler_(SamplingOptions::from(config)), decoder_(tok, /*skip_special_tokens=*/true), stops_(config.stop),
        history_(result.prompt_ids) {
    // The continuation is decoded as the tail of prompt + continuation, so
    // decoders that treat the start of a text specially (SentencePiece-style
    // Strip of the leading space) do not eat the space before the first new word.
    for (std::int32_t id : result.prompt_ids) (void)decoder_.push(id);
    if (config.repetition_penalty != 1.0) {
      seen_.assign(static_cast<std::size_t>(vocab), false);
      for (std::int32_t id : history_) see(id);
    }
  }

  bool live() const { return live_; }

  // This step's number from the sequence's generator (0 when greedy: none
  // is drawn), taken before the engine chooses so that the stream is the
  // one the host sampler would draw.
  double draw() { return sampler_.draws() ? sampler_.draw() : 0.0; }
  // The distinct tokens seen so far (prompt and generated), in the order
  // first seen: the repetition penalty's; empty without one.
  const std::vector<std::int32_t> &seen() const { return seen_ids_; }

  // Chooses on the host from `logits` (this sequence's row) with the
  // step's number.
  std::int32_t choose(std::span<float> logits, double u) { return sampler_.next(logits, history_, u); }

  // Takes the chosen token: the token to run next, or nothing when the
  // sequence has ended with it.
  std::optional<std::int32_t> take(std::int32_t id) {
    if (std::find(eos_->begin(), eos_->end(), id) != eos_->end()) return end(StopReason::Eos, true);
    history_.push_back(id);
    if (!seen_.empty()) see(id);
    result_->tokens.push_back(id);
    // The caller asked to stop, or a stop string came: nothing more is sent.
    if (!emit(stops_.push(decoder_.push(id)), id)) return end(StopReason::Sink, false);
    if (stops_.stopped()) return end(StopReason::StopString, false);
    if (static_cast<std::int64_t>(result_->tokens.size()) >= config_->max_new_tokens)
      return end(StopReason::MaxTokens, true);
    return id;
  }

 private:
  // As the sampler's penalty: ids outside the vocabulary are not penalized.
  void see(std::int32_t id) {
    if (id < 0 || static_cast<std::size_t>(id) >= seen_.size() || seen_[static_cast<std::size_t>(id)]) return;
    seen_[static_cast<std::size_t>(id)] = true;
    seen_ids_.push_back(id);
  }

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
  std::vector<bool> seen_;  // [vocab] with a repetition penalty, else empty
  std::vector<std::int32_t> seen_ids_;
  bool live_ = true;
};

// The inputs of one run_and_sample for the live sequences of `runs`: the
// config's options, each live sequence's number (drawn now, in sequence
// order) and, with a penalty, its seen tokens. Buffers kept between steps.
class StepInputs {
 public:
  explicit StepInputs(const schema::GenerationConfigT &config) {
    step_.temperature = config.temperature;
    step_.top_k = config.top_k;
    step_.top_p = config.top_p;
    step_.repetition_penalty = config.repetition_penalty;
  }

  const SampleStep &next(const std::vector<std::unique_ptr<SequenceRun>> &runs) {
    active_.assign(runs.size(), 0);
    uniforms_.assign(runs.size(), 0.0);
    seen_ids_.clear();
    seen_offsets_.assign(1, 0);
    const bool penalty = step_.repetition_penalty != 1.0;
    for (std::size_t b = 0; b < runs.size(); ++b) {
      if (runs[b]->live()) {
        active_[b] = 1;
        uniforms_[b] = runs[b]->draw();
        if (penalty) seen_ids_.insert(seen_ids_.end(), runs[b]->seen().begin(), runs[b]->seen().end());
      }
      if (penalty) seen_offsets_.push_back(static_cast<std::int64_t>(seen_ids_.size()));
    }
    step_.active = active_;
    step_.uniforms = uniforms_;
    step_.seen_ids = seen_ids_;
    step_.seen_offsets = penalty ? std::span<const std::int64_t>(seen_offsets_) : std::span<const std::int64_t>();
    return step_;
  }

  double uniform(std::size_t b) const { return uniforms_[b]; }

 private:
  SampleStep step_;
  std::vector<std::uint8_t> active_;
  std::vector<double> uniforms_;
  std::vector<std::int32_t> seen_ids_;
  std::vector<std::int64_t> seen_offsets_;
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

  const std::vector<std::int32_t> eos = config.stop_at_eos ? eos_ids(model.spec(), tok) : std::vector<std::int32_t>{};
  std::vector<std::unique_ptr<SequenceRun>> runs;
  for (std::size_t b = 0; b < results.size(); ++b) {
    TokenSink one;
    if (sink) one = [&sink, b](std::string_view piece, std::int32_t id) { return sink(b, piece, id); };
    runs.push_back(
        std::make_unique<SequenceRun>(tok, config, eos, model.spec().vocab_size, results[b], std::move(one)));
  }
  // The prefill (every prompt, right-padded), then one step for every live
  // sequence at a time; each run ends with each live sequence's next token,
  // chosen by the engine where its logits are, or here from its row.
  StepInputs inputs(config);
  Matrix logits;  // the rows the engine leaves to the host
  std::int64_t seq = longest;
  std::uint64_t step_units = static_cast<std::uint64_t>(units - batch * config.max_new_tokens);
  for (;;) {
    const SampleStep &step = inputs.next(runs);
    meter.begin_step(step_units);
    const std::vector<std::int32_t> chosen =
        engine.run_and_sample(compute, model, ids, batch, seq, cache.get(), counts, step, logits);
    meter.end_step();
    if (static_cast<std::int64_t>(chosen.size()) != batch)
      fail(Status::Internal, "generate: the " + std::string(engine.backend()) + " engine chose " +
                                 std::to_string(chosen.size()) + " tokens for a batch of " + std::to_string(batch));
    ids.resize(static_cast<std::size_t>(batch));
    seq = 1;
    std::int64_t live = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto i = static_cast<std::size_t>(b);
      std::optional<std::int32_t> next;
      if (runs[i]->live()) {
        const std::int32_t id =
            chosen[i] == kTokenOnHost ? runs[i]->choose(row_span(logits, b), inputs.uniform(i)) : chosen[i];
        if (id < 0 || id >= model.spec().vocab_size)
          fail(Status::Internal, "generate: the " + std::string(engine.backend()) + " engine chose token " +
                                     std::to_string(id) + " for sequence " + std::to_string(b) +
                                     ", outside the vocabulary");
        next = runs[i]->take(id);
      }
      ids[i] = next.value_or(0);
      counts[i] = next ? 1 : 0;
      live += counts[i];
    }
    if (live == 0) return;
    step_units = static_cast<std::uint64_t>(live);
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

#include "core/eval/generate.h"

#include <algorithm>
#include <span>

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

}  // namespace

GenerationResult generate(ThreadPool &pool, const ForwardEngine &engine, const PreparedModel &model,
                          const tokenizer::Tokenizer &tok, std::string_view prompt,
                          const schema::GenerationConfigT &config, const TokenSink &sink, const Progress &progress) {
  const model::ModelSpec &spec = model.spec();
  GenerationResult result;
  result.prompt_ids = tok.encode(prompt, true);
  const auto n = static_cast<std::int64_t>(result.prompt_ids.size());
  if (n == 0) fail(Status::InvalidArgument, "generate: the prompt has no tokens (and the tokenizer adds none)");
  // Known before the first token, so refused now rather than cut short later.
  const std::int64_t context = model::context_length(spec);
  if (n > context)
    fail(Status::InvalidArgument, "generate: the prompt has " + std::to_string(n) +
                                      " tokens, more than the model's context of " + model::context_text(spec));
  const std::int64_t capacity = n + config.max_new_tokens;
  if (capacity > context)
    fail(Status::InvalidArgument, "generate: the prompt's " + std::to_string(n) + " tokens plus max_new_tokens " +
                                      std::to_string(config.max_new_tokens) + " make " + std::to_string(capacity) +
                                      ", more than the model's context of " + model::context_text(spec) +
                                      "; give max_new_tokens " + std::to_string(context - n) + " or less");
  if (config.max_new_tokens == 0) return result;

  // Units: the prompt's tokens, then one per generated token, up to the cache.
  ProgressMeter meter(progress, "generate", static_cast<std::uint64_t>(capacity));
  const Compute compute(pool, &meter);
  const std::unique_ptr<SequenceCache> cache = engine.make_cache(model, 1, capacity);
  meter.begin_step(static_cast<std::uint64_t>(n));
  Matrix logits = engine.run(compute, model, result.prompt_ids, 1, n, cache.get(), true);
  meter.end_step();
  std::vector<std::int32_t> history = result.prompt_ids;
  const std::vector<std::int32_t> eos = config.stop_at_eos ? eos_ids(spec, tok) : std::vector<std::int32_t>{};
  Sampler sampler(SamplingOptions::from(config));
  tokenizer::StreamDecoder decoder(tok, /*skip_special_tokens=*/true);
  // The continuation is decoded as the tail of prompt + continuation, so
  // decoders that treat the start of a text specially (SentencePiece-style
  // Strip of the leading space) do not eat the space before the first new word.
  for (std::int32_t id : result.prompt_ids) (void)decoder.push(id);
  StopStringFilter stops(config.stop);
  auto emit = [&](const std::string &piece, std::int32_t id) {
    result.text += piece;
    return !sink || sink(piece, id);
  };

  for (std::int64_t step = 0;; ++step) {
    const std::int32_t id = sampler.next(row_span(logits, 0), history);
    if (std::find(eos.begin(), eos.end(), id) != eos.end()) {
      result.reason = StopReason::Eos;
      break;
    }
    history.push_back(id);
    result.tokens.push_back(id);
    if (!emit(stops.push(decoder.push(id)), id)) {
      result.reason = StopReason::Sink;
      return result;  // the caller asked to stop: nothing more is sent
    }
    if (stops.stopped()) {
      result.reason = StopReason::StopString;
      return result;
    }
    if (step + 1 >= config.max_new_tokens) {
      result.reason = StopReason::MaxTokens;
      break;
    }
    meter.begin_step(1);
    logits = engine.run(compute, model, std::span<const std::int32_t>(&id, 1), 1, 1, cache.get(), true);
    meter.end_step();
  }
  std::string rest = stops.push(decoder.finish());
  if (stops.stopped()) result.reason = StopReason::StopString;
  rest += stops.finish();
  if (!rest.empty()) emit(rest, -1);
  return result;
}

}  // namespace gptq::eval

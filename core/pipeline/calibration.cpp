#include "core/pipeline/calibration.h"

#include <algorithm>
#include <string_view>

#include "core/base/error.h"
#include "core/io/json_parse.h"
#include "core/io/read_file.h"
#include "core/model/context_length.h"
#include "core/model/model.h"
#include "core/pipeline/seeded_random.h"
#include "core/tokenizer/tokenizer.h"

namespace gptq::quant {
namespace {

// The paper's default window; also the cap when the model's context is longer.
constexpr std::int64_t kDefaultSeqlen = 2048;
// Calibration corpora are megabytes; a larger file is a mistake, not data.
constexpr std::uint64_t kMaxCalibrationFileBytes = std::uint64_t{4} << 30;
// A JSONL line is one flat object; nesting beyond this is not a document.
constexpr std::size_t kJsonlMaxDepth = 16;

[[noreturn]] void invalid(const std::string &what) {
  fail(Status::InvalidArgument, "calibration: " + what);
}

std::string file_list(const std::vector<std::string> &files) {
  std::string s;
  for (const auto &f : files) s += (s.empty() ? "" : ", ") + f;
  return s;
}

CalibrationData from_ids(const schema::CalibrationConfigT &config, std::int64_t seqlen,
                         std::int64_t vocab_size) {
  CalibrationData d;
  d.seqlen = seqlen;
  d.tokens = config.token_ids;
  const auto n = static_cast<std::int64_t>(d.tokens.size());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t id = d.tokens[static_cast<std::size_t>(i)];
    if (id < 0 || (vocab_size > 0 && id >= vocab_size))
      invalid("token_ids[" + std::to_string(i) + "] = " + std::to_string(id) +
              " is not a token id of the model (vocabulary size " + std::to_string(vocab_size) + ")");
  }
  if (n < seqlen)
    invalid("token_ids holds " + std::to_string(n) + " ids, fewer than one window of seqlen " +
            std::to_string(seqlen));
  const std::int64_t count = std::min<std::int64_t>(config.nsamples, n / seqlen);
  for (std::int64_t i = 0; i < count; ++i) d.offsets.push_back(i * seqlen);
  return d;
}

CalibrationData from_files(const schema::CalibrationConfigT &config, std::int64_t seqlen,
                           const tokenizer::Tokenizer *tokenizer) {
  if (!tokenizer)
    fail(Status::Unsupported,
         "calibration: text files need the model's tokenizer, and the model has no tokenizer.json "
         "(give token_ids instead)");
  std::string corpus;
  bool first = true;
  for (const std::string &file : config.files) {
    for (std::string &doc : read_calibration_documents(file)) {
      if (!first) corpus += "\n\n";
      first = false;
      corpus += doc;
    }
  }
  CalibrationData d;
  d.seqlen = seqlen;
  d.tokens = tokenizer->encode(corpus, true);
  const auto n = static_cast<std::int64_t>(d.tokens.size());
  if (n < seqlen)
    invalid("the text of " + file_list(config.files) + " (" + std::to_string(corpus.size()) +
            " bytes) tokenizes to " + std::to_string(n) +
            " tokens, fewer than one window of seqlen " + std::to_string(seqlen));
  d.offsets = random_window_offsets(n, seqlen, config.nsamples, config.seed);
  return d;
}

}  // namespace

std::int64_t effective_seqlen(std::int64_t requested, std::int64_t context) {
  if (requested < 0) invalid("seqlen must be >= 0, got " + std::to_string(requested));
  if (requested == 0) return context > 0 ? std::min(kDefaultSeqlen, context) : kDefaultSeqlen;
  if (context > 0 && requested > context)
    invalid("seqlen " + std::to_string(requested) + " is longer than the model's context of " +
            std::to_string(context) + " positions; give at most " + std::to_string(context) +
            " (or 0 for the context, capped at " + std::to_string(kDefaultSeqlen) + ")");
  return requested;
}

std::vector<std::int64_t> random_window_offsets(std::int64_t tokens, std::int64_t seqlen,
                                                std::int64_t count, std::uint64_t seed) {
  if (seqlen <= 0) invalid("seqlen must be > 0, got " + std::to_string(seqlen));
  if (count <= 0) invalid("nsamples must be > 0, got " + std::to_string(count));
  if (tokens < seqlen)
    invalid(std::to_string(tokens) + " tokens are fewer than one window of seqlen " +
            std::to_string(seqlen));
  SplitMix64 rng(seed);
  const auto starts = static_cast<std::uint64_t>(tokens - seqlen + 1);
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(count));
  for (auto &o : offsets) o = static_cast<std::int64_t>(rng.below(starts));
  return offsets;
}

std::vector<std::string> read_calibration_documents(const std::filesystem::path &file) {
  std::string text = io::read_text_file(file, kMaxCalibrationFileBytes);
  if (file.extension() != ".jsonl") return {std::move(text)};
  std::vector<std::string> docs;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos <= text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line(text.data() + pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = file.string() + " line " + std::to_string(line_no);
    const nlohmann::json j = io::parse_json_strict(line, where, kJsonlMaxDepth);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      fail(Status::Format, where + ": expected an object with a string field \"text\", found " +
                               (j.is_object() ? std::string("an object without one")
                                              : io::json_type_description(j)));
    docs.push_back(j["text"].get<std::string>());
  }
  if (docs.empty()) fail(Status::Format, file.string() + ": no JSONL documents in the file");
  return docs;
}

CalibrationData make_calibration(const schema::CalibrationConfigT &config,
                                 const tokenizer::Tokenizer *tokenizer,
                                 std::int64_t context, std::int64_t vocab_size) {
  const bool files = !config.files.empty(), ids = !config.token_ids.empty();
  if (files == ids)
    invalid(files ? "give files or token_ids, not both"
                  : "no data: give text files (calibration.files) or token ids "
                    "(calibration.token_ids)");
  if (config.nsamples <= 0) invalid("nsamples must be > 0, got " + std::to_string(config.nsamples));
  const std::int64_t seqlen = effective_seqlen(config.seqlen, context);
  return ids ? from_ids(config, seqlen, vocab_size) : from_files(config, seqlen, tokenizer);
}

CalibrationData make_calibration(const schema::CalibrationConfigT &config,
                                 const model::Model &model) {
  // The embedding's rows bound the ids the forward pass can take.
  return make_calibration(config, model.tokenizer(), model::context_length(model.spec()),
                          model.spec().vocab_size);
}

}  // namespace gptq::quant

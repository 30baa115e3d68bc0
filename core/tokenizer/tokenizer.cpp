#include "core/tokenizer/tokenizer.h"

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/base/error.h"
#include "core/tokenizer/added_vocabulary.h"
#include "core/tokenizer/bpe_model.h"
#include "core/tokenizer/decoder.h"
#include "core/tokenizer/json_node.h"
#include "core/tokenizer/model_tables_scan.h"
#include "core/tokenizer/normalizer.h"
#include "core/tokenizer/post_processor.h"
#include "core/tokenizer/pre_tokenizer.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<PostProcessor> post_processor;
  DecoderChain decoder;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, std::size_t> added_by_id;
  std::unordered_map<std::string, int32_t> added_by_content;
  AddedTokenMatcher raw_matcher;         // normalized=false tokens, on the input
  AddedTokenMatcher normalized_matcher;  // normalized=true tokens, on normalized text
  std::vector<bool> special;             // by id
  std::size_t id_limit = 0;
  bool byte_level = false;
  // With no pre-tokenizer (Llama-2 / Phi-3 form), or a Metaspace one that does not
  // split (Mistral), the whole normalized text is one BPE word; when the model allows
  // it (BpeModel::can_split_before) we encode every word in chunks cut before this
  // character instead, so the word cache works and no merge queue spans the whole
  // text. Same ids, see bpe_model.h. Never for byte-level words (raw bytes).
  std::string chunk_char;
  std::optional<int32_t> bos, eos;
  bool chat_template = false;

  const std::string *token_string(int32_t id) const {
    if (auto it = added_by_id.find(id); it != added_by_id.end()) return &added[it->second].pattern;
    return model->id_to_token(id);
  }
  void encode_piece(std::string_view text, bool at_start, std::vector<int32_t> &ids) const;
  void encode_words(std::string_view text, bool at_start, std::vector<int32_t> &ids) const;
  void encode_word(std::string_view word, std::vector<int32_t> &ids) const;
};

namespace {

// bos_token / eos_token in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const JsonNode &cfg, const char *key) {
  auto v = cfg.get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return v->str();
  if (v->is_object()) return v->at("content").str();
  v->fail(Status::Format, "expected a string or an object with \"content\"");
}

// HF reads "model" as a tagged enum when "type" names a model, and otherwise (files
// written before the tag existed, e.g. openai-community/gpt2's) tries each model's own
// deserializer in the order BPE, WordPiece, WordLevel, Unigram and takes the first that
// succeeds (tokenizers/src/models/mod.rs, ModelUntagged). BPE's succeeds when "vocab"
// and "merges" are both present, and its "type", if any, is "BPE"
// (models/bpe/serialization.rs); the others need fields BPE files lack (WordPiece and
// WordLevel: "unk_token" and "vocab", plus "continuing_subword_prefix" and
// "max_input_chars_per_word" for WordPiece; Unigram: a list "vocab"). We read BPE only,
// so a model is accepted exactly when HF would read it as BPE.
void check_model_is_bpe(const JsonNode &model) {
  if (auto type = model.get("type")) {
    if (type->str() == "BPE") return;
    type->fail(Status::Unsupported, "model type \"" + type->str() + "\" is not supported (only BPE)");
  }
  if (model.has("vocab") && model.has("merges")) return;
  const char *other = !model.has("vocab")                ? nullptr
                      : model.at("vocab").is_array()     ? "Unigram"
                      : model.has("max_input_chars_per_word") ? "WordPiece"
                                                          : "WordLevel";
  if (!other) model.fail(Status::Format, "model has no \"type\" and no \"vocab\": not a model HF can read");
  model.fail(Status::Unsupported, std::string("model has no \"type\" and no \"merges\": HF would read it as ") +
                                      other + ", which is not supported (only BPE)");
}

}  // namespace

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<int32_t> &ids) const {
  if (chunk_char.empty()) {
    model->encode_word(word, byte_level, ids);
    return;
  }
  // Cut before each chunk_char that follows another character (see can_split_before).
  const std::size_t w = chunk_char.size();
  std::size_t from = 0, next = word.find(chunk_char, 1);
  while (from < word.size()) {
    while (next != std::string_view::npos && next >= w && word.compare(next - w, w, chunk_char) == 0)
      next = word.find(chunk_char, next + w);
    const std::size_t end = next == std::string_view::npos ? word.size() : next;
    model->encode_word(word.substr(from, end - from), false, ids);
    from = end;
    if (next != std::string_view::npos) next = word.find(chunk_char, next + w);
  }
}

void Tokenizer::Impl::encode_words(std::string_view text, bool at_start, std::vector<int32_t> &ids) const {
  if (text.empty()) return;
  if (!pre_tokenizer) {
    encode_word(text, ids);
    return;
  }
  thread_local Words words;
  words.clear();
  pre_tokenizer->split(text, at_start, words);
  for (std::size_t i = 0; i < words.spans.size(); ++i) encode_word(words.word(i), ids);
}

void Tokenizer::Impl::encode_piece(std::string_view text, bool at_start, std::vector<int32_t> &ids) const {
  thread_local std::string norm, scratch;
  std::string_view t = text;
  if (normalizer) {
    norm.assign(text);
    normalizer->normalize(norm, scratch);
    t = norm;
  }
  if (normalized_matcher.empty()) {
    encode_words(t, at_start, ids);
    return;
  }
  // The matcher's pieces point into `t`, which encode_words does not touch.
  std::vector<TextPiece> pieces;
  normalized_matcher.split(t, pieces);
  for (const TextPiece &p : pieces) {
    if (p.id >= 0) {
      ids.push_back(p.id);
    } else {
      encode_words(t.substr(p.begin, p.end - p.begin), at_start && p.begin == 0, ids);
    }
  }
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json,
                               const std::string &name, bool chat_template_file) {
  auto impl = std::make_unique<Impl>();
  // The large vocabulary and merges are read by the scanner, the rest by the DOM parser;
  // a syntax error in the rest is reported with its offset in the file itself.
  ScannedModelTables tables;
  const std::string rest = scan_model_tables(tokenizer_json, name, tables);
  nlohmann::json doc;
  try {
    doc = parse_json(rest, name);
  } catch (const Error &) {
    doc = parse_json(tokenizer_json, name);  // throws with the file's own byte offset
    throw;
  }
  const JsonNode root(doc, name, "$");
  root.expect_object();

  const JsonNode model = root.at("model");
  model.expect_object();
  check_model_is_bpe(model);
  impl->model = std::make_unique<BpeModel>(model, tables);

  if (auto n = root.get("normalizer")) impl->normalizer = make_normalizer(*n);
  if (auto p = root.get("pre_tokenizer")) {
    impl->pre_tokenizer = make_pre_tokenizer(*p);
    impl->byte_level = impl->pre_tokenizer->byte_level();
  }
  if (auto p = root.get("post_processor")) impl->post_processor = make_post_processor(*p);
  if (auto d = root.get("decoder")) impl->decoder = DecoderChain(*d);
  if (!impl->byte_level && impl->model->can_split_before("\xE2\x96\x81")) impl->chunk_char = "\xE2\x96\x81";

  impl->id_limit = impl->model->id_limit();
  if (auto list = root.get("added_tokens")) {
    list->expect_array();
    std::string scratch;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const JsonNode t = list->index(i);
      AddedToken a;
      const int64_t id = t.at("id").integer();
      if (id < 0 || id >= (int64_t{1} << 21)) t.at("id").fail(Status::Format, "token id out of range");
      a.id = int32_t(id);
      a.content = t.at("content").str();
      a.single_word = t.bool_or("single_word", false);
      a.lstrip = t.bool_or("lstrip", false);
      a.rstrip = t.bool_or("rstrip", false);
      a.normalized = t.bool_or("normalized", !t.bool_or("special", false));
      a.special = t.bool_or("special", false);
      if (!utf8::is_valid(a.content)) t.at("content").fail(Status::Format, "not valid UTF-8");
      a.pattern = a.content;
      if (a.normalized && impl->normalizer) impl->normalizer->normalize(a.pattern, scratch);
      impl->id_limit = std::max(impl->id_limit, std::size_t(a.id) + 1);
      auto existing = impl->added_by_id.find(a.id);
      if (existing != impl->added_by_id.end()) {
        impl->added[existing->second] = std::move(a);
      } else {
        impl->added_by_id[a.id] = impl->added.size();
        impl->added.push_back(std::move(a));
      }
    }
  }
  std::unordered_set<std::string> special_contents;
  for (const auto &a : impl->added) {
    impl->added_by_content[a.content] = a.id;
    if (a.special) special_contents.insert(a.content);
  }
  impl->raw_matcher.build(impl->added, false);
  impl->normalized_matcher.build(impl->added, true);
  // HF skips a token in decode(skip_special_tokens=True) when its string is the content
  // of a special added token.
  impl->special.assign(impl->id_limit, false);
  for (std::size_t id = 0; id < impl->id_limit; ++id) {
    const std::string *s = impl->token_string(int32_t(id));
    impl->special[id] = s && special_contents.contains(*s);
  }

  Tokenizer result(std::move(impl));
  if (!config_json.empty()) {
    const std::string cfg_name = (std::filesystem::path(name).parent_path() / "tokenizer_config.json").string();
    const nlohmann::json cdoc = parse_json(config_json, cfg_name);
    const JsonNode cfg(cdoc, cfg_name, "$");
    cfg.expect_object();
    if (auto b = config_token(cfg, "bos_token")) result.impl_->bos = result.token_to_id(*b);
    if (auto e = config_token(cfg, "eos_token")) result.impl_->eos = result.token_to_id(*e);
    result.impl_->chat_template = cfg.has("chat_template");
    result.impl_->decoder.set_cleanup(cfg.bool_or("clean_up_tokenization_spaces", false));
  }
  if (chat_template_file) result.impl_->chat_template = true;
  return result;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl &m = *impl_;
  std::string repaired;
  if (!utf8::is_valid(text)) {
    utf8::append_repaired(text, repaired);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (m.raw_matcher.empty()) {
    m.encode_piece(text, true, ids);
  } else {
    std::vector<TextPiece> pieces;
    m.raw_matcher.split(text, pieces);
    for (const TextPiece &p : pieces) {
      if (p.id >= 0) {
        ids.push_back(p.id);
      } else {
        m.encode_piece(text.substr(p.begin, p.end - p.begin), p.begin == 0, ids);
      }
    }
  }
  if (add_special_tokens && m.post_processor) m.post_processor->add_special_tokens(ids);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  auto pipeline = impl_->decoder.start(out);
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    if (const std::string *s = impl_->token_string(id)) pipeline->push(*s);  // unknown ids: dropped, as HF
  }
  pipeline->finish();
  return out;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_by_content.find(std::string(token)); it != impl_->added_by_content.end())
    return it->second;
  return impl_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const std::string *s = impl_->token_string(id)) return *s;
  return std::nullopt;
}

std::size_t Tokenizer::vocab_size() const { return impl_->id_limit; }

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && std::size_t(id) < impl_->special.size() && impl_->special[std::size_t(id)];
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos; }
bool Tokenizer::has_chat_template() const { return impl_->chat_template; }

StreamDecoder::StreamDecoder(const Tokenizer &tokenizer, bool skip_special_tokens)
    : tokenizer_(&tokenizer), skip_special_(skip_special_tokens), out_(std::make_unique<std::string>()) {
  restart();
}
StreamDecoder::StreamDecoder(StreamDecoder &&) noexcept = default;
StreamDecoder::~StreamDecoder() = default;

void StreamDecoder::restart() { pipeline_ = tokenizer_->impl().decoder.start(*out_); }

std::string StreamDecoder::push(int32_t id) {
  if (!(skip_special_ && tokenizer_->is_special(id))) {
    if (const std::string *s = tokenizer_->impl().token_string(id)) pipeline_->push(*s);
  }
  std::string piece;
  piece.swap(*out_);
  return piece;
}

std::string StreamDecoder::finish() {
  pipeline_->finish();
  std::string piece;
  piece.swap(*out_);
  restart();
  return piece;
}

}  // namespace gptq::tokenizer

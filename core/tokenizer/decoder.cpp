#include "core/tokenizer/decoder.h"

#include "core/tokenizer/json_node.h"
#include "core/tokenizer/pre_tokenizer.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

// The end of every pipeline: concatenates what reaches it (HF joins the decoded
// tokens with "").
class Sink final : public DecodeStage {
 public:
  explicit Sink(std::string &out) : out_(out) {}
  void push(std::string_view piece) override { out_.append(piece); }
  void finish() override {}

 private:
  std::string &out_;
};

class Chained : public DecodeStage {
 public:
  explicit Chained(std::unique_ptr<DecodeStage> next) : next_(std::move(next)) {}
  void finish() override { next_->finish(); }

 protected:
  std::unique_ptr<DecodeStage> next_;
};

// No decoder in the file: HF joins the tokens with " ".
class JoinWithSpace final : public Chained {
 public:
  using Chained::Chained;
  void push(std::string_view piece) override {
    if (!first_) next_->push(" ");
    first_ = false;
    next_->push(piece);
  }

 private:
  bool first_ = true;
};

class ReplaceStage final : public Chained {
 public:
  ReplaceStage(std::unique_ptr<DecodeStage> next, std::string pattern, std::string content, bool fused)
      : Chained(std::move(next)), pattern_(std::move(pattern)), content_(std::move(content)), fused_(fused) {}
  void push(std::string_view piece) override {
    if (pattern_.empty()) {
      next_->push(piece);
      return;
    }
    if (!fused_) {
      out_.clear();
      replace_all(piece, out_);
      next_->push(out_);
      return;
    }
    held_.append(piece);
    // Replace what is complete; keep the longest tail that may start an occurrence.
    std::size_t keep = 0;
    for (std::size_t k = std::min(held_.size(), pattern_.size() - 1); k > 0; --k) {
      if (std::string_view(held_).substr(held_.size() - k) == std::string_view(pattern_).substr(0, k)) {
        keep = k;
        break;
      }
    }
    // Occurrences starting before the kept tail are replaced even when they run into
    // it (then the tail is consumed too).
    out_.clear();
    std::size_t consumed = replace_all_until(held_, held_.size() - keep, out_);
    if (!out_.empty()) next_->push(out_);
    held_.erase(0, consumed);
  }
  void finish() override {
    if (!held_.empty()) {
      out_.clear();
      replace_all(held_, out_);
      held_.clear();
      next_->push(out_);
    }
    next_->finish();
  }

 private:
  void replace_all(std::string_view s, std::string &out) const {
    std::size_t from = 0, pos;
    while ((pos = s.find(pattern_, from)) != std::string_view::npos) {
      out.append(s.substr(from, pos - from));
      out.append(content_);
      from = pos + pattern_.size();
    }
    out.append(s.substr(from));
  }
  // Replaces occurrences in s that start before `limit`, copies plain text up to
  // `limit` (or past it when an occurrence straddles it); returns bytes consumed.
  std::size_t replace_all_until(std::string_view s, std::size_t limit, std::string &out) const {
    std::size_t from = 0, pos;
    while ((pos = s.find(pattern_, from)) != std::string_view::npos && pos < limit) {
      out.append(s.substr(from, pos - from));
      out.append(content_);
      from = pos + pattern_.size();
    }
    if (from < limit) {
      out.append(s.substr(from, limit - from));
      from = limit;
    }
    return from;
  }

  std::string pattern_, content_;
  bool fused_;
  std::string held_, out_;
};

// <0xNN> tokens: a run of them becomes its bytes when they form valid UTF-8, and one
// U+FFFD per token otherwise. The run is decided when it ends.
class ByteFallbackStage final : public Chained {
 public:
  using Chained::Chained;
  void push(std::string_view piece) override {
    int byte = parse(piece);
    if (byte >= 0) {
      run_.push_back(static_cast<char>(byte));
      return;
    }
    flush();
    next_->push(piece);
  }
  void finish() override {
    flush();
    next_->finish();
  }

 private:
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static int parse(std::string_view t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>') return -1;
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
  void flush() {
    if (run_.empty()) return;
    if (utf8::is_valid(run_)) {
      next_->push(run_);
    } else {
      for (std::size_t i = 0; i < run_.size(); ++i) next_->push(utf8::kReplacementUtf8);
    }
    run_.clear();
  }
  std::string run_;
};

// Strip: removes up to `start` leading and `stop` trailing `ch` characters of each
// token, or of the whole text when fused.
class StripStage final : public Chained {
 public:
  StripStage(std::unique_ptr<DecodeStage> next, std::string ch, std::size_t start, std::size_t stop, bool fused)
      : Chained(std::move(next)), ch_(std::move(ch)), start_(start), stop_(stop), fused_(fused) {}
  void push(std::string_view piece) override {
    if (!fused_) {
      std::size_t b = 0, e = piece.size();
      for (std::size_t k = 0; k < start_ && piece.substr(b).starts_with(ch_); ++k) b += ch_.size();
      for (std::size_t k = 0; k < stop_ && e >= b + ch_.size() &&
                              piece.substr(0, e).ends_with(ch_); ++k)
        e -= ch_.size();
      next_->push(piece.substr(b, e - b));
      return;
    }
    out_.clear();
    std::size_t i = 0;
    while (i < piece.size()) {
      const bool is_ch = piece.substr(i).starts_with(ch_);
      if (is_ch && at_start_ && stripped_ < start_) {
        ++stripped_;
        i += ch_.size();
        continue;
      }
      at_start_ = false;
      if (is_ch && stop_ > 0) {
        ++held_count_;
        i += ch_.size();
        continue;
      }
      for (; held_count_ > 0; --held_count_) out_.append(ch_);
      std::size_t len = utf8::sequence_length(static_cast<uint8_t>(piece[i]));
      out_.append(piece.substr(i, len));
      i += len;
    }
    if (!out_.empty()) next_->push(out_);
  }
  void finish() override {
    if (fused_) {
      std::size_t keep = held_count_ > stop_ ? held_count_ - stop_ : 0;
      out_.clear();
      for (std::size_t k = 0; k < keep; ++k) out_.append(ch_);
      if (!out_.empty()) next_->push(out_);
      held_count_ = 0;
    }
    next_->finish();
  }

 private:
  std::string ch_;
  std::size_t start_, stop_;
  bool fused_;
  bool at_start_ = true;
  std::size_t stripped_ = 0, held_count_ = 0;
  std::string out_;
};

// Metaspace decoder: the replacement character becomes a space, except in the first
// token (the whole text when fused) where it is dropped unless prepend_scheme is never.
class MetaspaceStage final : public Chained {
 public:
  MetaspaceStage(std::unique_ptr<DecodeStage> next, std::string rep, bool prepend, bool fused)
      : Chained(std::move(next)), rep_(std::move(rep)), prepend_(prepend), fused_(fused) {}
  void push(std::string_view piece) override {
    const bool first = fused_ || index_ == 0;
    ++index_;
    out_.clear();
    std::size_t from = 0, pos;
    while ((pos = piece.find(rep_, from)) != std::string_view::npos) {
      out_.append(piece.substr(from, pos - from));
      if (!(first && prepend_)) out_.push_back(' ');
      from = pos + rep_.size();
    }
    out_.append(piece.substr(from));
    next_->push(out_);
  }

 private:
  std::string rep_;
  bool prepend_, fused_;
  std::size_t index_ = 0;
  std::string out_;
};

// ByteLevel: each token's characters map back to bytes through the GPT-2 table (a token
// with any character outside the table contributes its own UTF-8 bytes), and all the
// bytes are read as UTF-8 with maximal-subpart replacement (String::from_utf8_lossy).
// We emit whole characters as soon as they are complete.
class ByteLevelStage final : public Chained {
 public:
  using Chained::Chained;
  void push(std::string_view piece) override {
    const std::size_t mark = bytes_.size();
    bool all_mapped = true;
    for (std::size_t i = 0; i < piece.size();) {
      std::size_t len;
      uint32_t cp = utf8::decode_at(piece, i, &len);
      int b = unicode_to_byte(cp);
      if (b < 0) {
        all_mapped = false;
        break;
      }
      bytes_.push_back(static_cast<char>(b));
      i += len;
    }
    if (!all_mapped) {
      bytes_.resize(mark);
      bytes_.append(piece);
    }
    drain(false);
  }
  void finish() override {
    drain(true);
    next_->finish();
  }

 private:
  static int unicode_to_byte(uint32_t cp) {
    static const std::vector<int16_t> table = [] {
      std::vector<int16_t> t(512, -1);
      for (int b = 0; b < 256; ++b) t[byte_to_unicode(uint8_t(b))] = int16_t(b);
      return t;
    }();
    return cp < table.size() ? table[cp] : -1;
  }
  void drain(bool at_end) {
    out_.clear();
    std::size_t i = 0;
    const std::size_t n = bytes_.size();
    while (i < n) {
      std::size_t bad = 0;
      std::size_t len = utf8::valid_sequence_length(bytes_, i, &bad);
      if (len != 0) {
        out_.append(bytes_, i, len);
        i += len;
        continue;
      }
      if (!at_end && i + bad == n) break;  // may still be completed by the next token
      out_.append(utf8::kReplacementUtf8);
      i += bad;
    }
    bytes_.erase(0, i);
    if (!out_.empty()) next_->push(out_);
  }
  std::string bytes_, out_;
};

// transformers' clean_up_tokenization: " ." -> "." etc., applied in this order to the
// whole text. Patterns are at most 4 bytes, begin with a space and only delete
// spaces, so text can be released up to any point with no space in the 3 bytes before
// it: no occurrence can straddle that point, before or after earlier replacements.
class CleanupStage final : public Chained {
 public:
  using Chained::Chained;
  void push(std::string_view piece) override {
    held_.append(piece);
    // Largest character boundary with no space in the 3 bytes before it: a pattern
    // occurrence straddling it would have to start with one of those bytes.
    std::size_t cut = held_.size();
    while (cut > 0) {
      bool boundary = cut == held_.size() || (uint8_t(held_[cut]) & 0xC0) != 0x80;
      bool clear = true;
      for (std::size_t k = 1; k <= 3 && k <= cut; ++k) clear = clear && held_[cut - k] != ' ';
      if (boundary && clear) break;
      --cut;
    }
    if (cut == 0) return;
    std::string ready = held_.substr(0, cut);
    held_.erase(0, cut);
    clean(ready);
    next_->push(ready);
  }
  void finish() override {
    clean(held_);
    if (!held_.empty()) next_->push(held_);
    held_.clear();
    next_->finish();
  }

 private:
  static void replace_all(std::string &s, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t pos = 0, f;
    bool any = false;
    while ((f = s.find(from, pos)) != std::string::npos) {
      out.append(s, pos, f - pos);
      out.append(to);
      pos = f + from.size();
      any = true;
    }
    if (!any) return;
    out.append(s, pos, std::string::npos);
    s.swap(out);
  }
  static void clean(std::string &s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto &[from, to] : kRules) replace_all(s, from, to);
  }
  std::string held_;
};

std::string one_char(const JsonNode &node) {
  std::string s = node.str();
  std::size_t len = 0;
  if (s.empty() || !utf8::is_valid(s) || (utf8::decode_at(s, 0, &len), len != s.size()))
    node.fail(Status::Format, "expected a single character");
  return s;
}

std::size_t count(const JsonNode &n) {
  int64_t v = n.integer();
  if (v < 0 || v > 1'000'000) n.fail(Status::Format, "out of range");
  return std::size_t(v);
}

}  // namespace

DecoderChain::DecoderChain(const JsonNode &node) : none_(false) {
  add(node);
  bool fused = false;
  for (const Step &s : steps_) {
    if (fused && (s.kind == Step::ByteFallback || s.kind == Step::ByteLevel))
      node.fail(Status::Unsupported, "ByteFallback or ByteLevel after Fuse/ByteLevel in the decoder chain");
    if (s.kind == Step::Fuse || s.kind == Step::ByteLevel) fused = true;
  }
}

void DecoderChain::add(const JsonNode &node) {
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.str();
  Step s{};
  if (type == "Sequence") {
    JsonNode list = node.at("decoders");
    list.expect_array();
    for (std::size_t i = 0; i < list.size(); ++i) add(list.index(i));
    return;
  } else if (type == "ByteLevel") {
    s.kind = Step::ByteLevel;
  } else if (type == "ByteFallback") {
    s.kind = Step::ByteFallback;
  } else if (type == "Fuse") {
    s.kind = Step::Fuse;
  } else if (type == "Replace") {
    JsonNode pattern = node.at("pattern");
    pattern.expect_object();
    if (!pattern.has("String"))
      pattern.fail(Status::Unsupported, "Replace decoder with a non-string pattern is not supported");
    s.kind = Step::Replace;
    s.a = pattern.at("String").str();
    s.b = node.at("content").str();
  } else if (type == "Strip") {
    s.kind = Step::Strip;
    s.a = one_char(node.at("content"));
    s.start = count(node.at("start"));
    s.stop = count(node.at("stop"));
  } else if (type == "Metaspace") {
    s.kind = Step::Metaspace;
    s.a = one_char(node.at("replacement"));
    std::string scheme = node.str_or("prepend_scheme", "always");
    if (auto aps = node.get("add_prefix_space"); aps && !aps->boolean()) scheme = "never";
    s.prepend = scheme != "never";
  } else {
    type_node.fail(Status::Unsupported, "decoder type \"" + type + "\" is not supported");
  }
  steps_.push_back(std::move(s));
}

std::unique_ptr<DecodeStage> DecoderChain::start(std::string &out) const {
  std::unique_ptr<DecodeStage> stage = std::make_unique<Sink>(out);
  if (cleanup_) stage = std::make_unique<CleanupStage>(std::move(stage));
  if (none_) return std::make_unique<JoinWithSpace>(std::move(stage));
  // Which steps run fused (after a Fuse or ByteLevel).
  std::vector<bool> fused(steps_.size(), false);
  bool f = false;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    fused[i] = f;
    if (steps_[i].kind == Step::Fuse || steps_[i].kind == Step::ByteLevel) f = true;
  }
  for (std::size_t k = steps_.size(); k-- > 0;) {
    const Step &s = steps_[k];
    switch (s.kind) {
      case Step::Fuse: break;  // only changes how later steps see their input
      case Step::Replace: stage = std::make_unique<ReplaceStage>(std::move(stage), s.a, s.b, fused[k]); break;
      case Step::ByteFallback: stage = std::make_unique<ByteFallbackStage>(std::move(stage)); break;
      case Step::Strip:
        stage = std::make_unique<StripStage>(std::move(stage), s.a, s.start, s.stop, fused[k]);
        break;
      case Step::Metaspace:
        stage = std::make_unique<MetaspaceStage>(std::move(stage), s.a, s.prepend, fused[k]);
        break;
      case Step::ByteLevel: stage = std::make_unique<ByteLevelStage>(std::move(stage)); break;
    }
  }
  return stage;
}

}  // namespace gptq::tokenizer

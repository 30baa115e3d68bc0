#include "core/tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <array>
#include <optional>

#include "core/tokenizer/json_node.h"
#include "core/tokenizer/split_patterns.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const JsonNode &node) {
  const std::string b = node.str();
  if (b == "Removed") return Behavior::Removed;
  if (b == "Isolated") return Behavior::Isolated;
  if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::MergedWithNext;
  if (b == "Contiguous") return Behavior::Contiguous;
  node.fail(Status::Format, "unknown split behavior \"" + b + "\"");
}

struct Segment {
  uint32_t begin, end;
  bool is_match;
};

// Turns a cover of the text by (match / non-match) segments into words, the way HF's
// NormalizedString::split does for each SplitDelimiterBehavior. `base` is the offset of
// the text in out.text.
void emit_segments(std::vector<Segment> &segs, Behavior behavior, bool invert, uint32_t base,
                   Words &out) {
  if (invert)
    for (auto &s : segs) s.is_match = !s.is_match;
  std::vector<Segment> words;
  words.reserve(segs.size());
  switch (behavior) {
    case Behavior::Isolated:
      for (auto s : segs) words.push_back({s.begin, s.end, false});
      break;
    case Behavior::Removed:
      words = segs;
      break;
    case Behavior::Contiguous: {
      bool prev = false;
      for (auto s : segs) {
        if (s.is_match == prev && !words.empty()) {
          words.back().end = s.end;
        } else {
          words.push_back({s.begin, s.end, false});
        }
        prev = s.is_match;
      }
      break;
    }
    case Behavior::MergedWithPrevious: {
      bool prev = false;
      for (auto s : segs) {
        if (s.is_match && !prev && !words.empty()) {
          words.back().end = s.end;
        } else {
          words.push_back({s.begin, s.end, false});
        }
        prev = s.is_match;
      }
      break;
    }
    case Behavior::MergedWithNext: {
      bool prev = false;
      for (std::size_t k = segs.size(); k-- > 0;) {
        const Segment s = segs[k];
        if (s.is_match && !prev && !words.empty()) {
          words.back().begin = s.begin;
        } else {
          words.push_back({s.begin, s.end, false});
        }
        prev = s.is_match;
      }
      std::reverse(words.begin(), words.end());
      break;
    }
  }
  for (const auto &w : words) {
    if (w.is_match || w.begin == w.end) continue;  // Removed delimiters; empty words
    out.spans.push_back({base + w.begin, base + w.end});
  }
}

// Segments of `text` around each occurrence of the literal `pattern`.
void literal_segments(std::string_view text, std::string_view pattern, std::vector<Segment> &segs) {
  segs.clear();
  if (pattern.empty()) {
    segs.push_back({0, static_cast<uint32_t>(text.size()), false});
    return;
  }
  std::size_t from = 0, pos;
  while ((pos = text.find(pattern, from)) != std::string_view::npos) {
    if (pos > from) segs.push_back({uint32_t(from), uint32_t(pos), false});
    segs.push_back({uint32_t(pos), uint32_t(pos + pattern.size()), true});
    from = pos + pattern.size();
  }
  if (from < text.size()) segs.push_back({uint32_t(from), uint32_t(text.size()), false});
}

// Appends the matches of a (full-coverage) split pattern as words.
void split_by_pattern(SplitPattern p, std::string_view text, uint32_t base, Words &out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = match_split_pattern(p, text, pos);
    out.spans.push_back({base + uint32_t(pos), base + uint32_t(end)});
    pos = end;
  }
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void split(std::string_view text, bool, Words &out) const override {
    if (text.empty()) return;
    const uint32_t base = uint32_t(out.text.size());
    if (add_prefix_space_ && text[0] != ' ') out.text.push_back(' ');
    out.text.append(text);
    std::string_view all = std::string_view(out.text).substr(base);
    if (use_regex_) {
      split_by_pattern(SplitPattern::Gpt2, all, base, out);
    } else {
      out.spans.push_back({base, uint32_t(out.text.size())});
    }
  }
  bool byte_level() const override { return true; }

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(std::optional<SplitPattern> regex, std::string literal, Behavior behavior,
                    bool invert)
      : regex_(regex), literal_(std::move(literal)), behavior_(behavior), invert_(invert) {}
  void split(std::string_view text, bool, Words &out) const override {
    if (text.empty()) return;
    const uint32_t base = uint32_t(out.text.size());
    out.text.append(text);
    std::string_view all = std::string_view(out.text).substr(base);
    if (regex_ && behavior_ == Behavior::Isolated && !invert_) {
      split_by_pattern(*regex_, all, base, out);  // the common case, without segments
      return;
    }
    std::vector<Segment> segs;
    if (regex_) {
      for (std::size_t pos = 0; pos < all.size();) {
        std::size_t end = match_split_pattern(*regex_, all, pos);
        segs.push_back({uint32_t(pos), uint32_t(end), true});
        pos = end;
      }
    } else {
      literal_segments(all, literal_, segs);
    }
    emit_segments(segs, behavior_, invert_, base, out);
  }

 private:
  std::optional<SplitPattern> regex_;
  std::string literal_;
  Behavior behavior_;
  bool invert_;
};

enum class PrependScheme { First, Always, Never };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : rep_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void split(std::string_view text, bool at_input_start, Words &out) const override {
    if (text.empty()) return;
    const uint32_t base = uint32_t(out.text.size());
    // Replace ' ' with the replacement, then prepend it per the scheme (HF checks
    // "starts with the replacement" after the replace).
    const bool starts_with_rep = text[0] == ' ' || text.substr(0, rep_.size()) == rep_;
    const bool prepend = !starts_with_rep && (scheme_ == PrependScheme::Always ||
                                              (scheme_ == PrependScheme::First && at_input_start));
    if (prepend) out.text.append(rep_);
    for (char c : text) {
      if (c == ' ') {
        out.text.append(rep_);
      } else {
        out.text.push_back(c);
      }
    }
    std::string_view all = std::string_view(out.text).substr(base);
    if (!split_) {
      out.spans.push_back({base, uint32_t(out.text.size())});
      return;
    }
    std::vector<Segment> segs;
    literal_segments(all, rep_, segs);
    emit_segments(segs, Behavior::MergedWithNext, false, base, out);
  }

 private:
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void split(std::string_view text, bool at_input_start, Words &out) const override {
    if (parts_.empty()) {
      if (text.empty()) return;
      const uint32_t base = uint32_t(out.text.size());
      out.text.append(text);
      out.spans.push_back({base, uint32_t(out.text.size())});
      return;
    }
    // Each stage re-splits every word of the previous one.
    Words cur, next;
    parts_[0]->split(text, at_input_start, cur);
    for (std::size_t p = 1; p < parts_.size(); ++p) {
      next.clear();
      for (std::size_t w = 0; w < cur.spans.size(); ++w)
        parts_[p]->split(cur.word(w), at_input_start && w == 0 && cur.spans[0].begin == 0, next);
      std::swap(cur, next);
    }
    const uint32_t base = uint32_t(out.text.size());
    out.text.append(cur.text);
    for (auto s : cur.spans) out.spans.push_back({base + s.begin, base + s.end});
  }
  bool byte_level() const override { return !parts_.empty() && parts_.back()->byte_level(); }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

std::string single_char(const JsonNode &node) {
  std::string s = node.str();
  std::size_t len = 0;
  if (s.empty() || !utf8::is_valid(s) || (utf8::decode_at(s, 0, &len), len != s.size()))
    node.fail(Status::Format, "expected a single character");
  return s;
}

}  // namespace

uint32_t byte_to_unicode(uint8_t b) {
  // Printable Latin-1 bytes stand for themselves; the other 68 bytes are numbered
  // from U+0100 upwards in byte order (GPT-2's bytes_to_unicode).
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    uint32_t n = 0;
    for (int c = 0; c < 256; ++c) {
      bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
      t[c] = printable ? uint32_t(c) : 256 + n++;
    }
    return t;
  }();
  return table[b];
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode &node) {
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.str();
  if (type == "Sequence") {
    JsonNode list = node.at("pretokenizers");
    list.expect_array();
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!parts.empty() && parts.back()->byte_level()) {
        list.index(i).fail(Status::Unsupported,
                           "a pre-tokenizer after ByteLevel in a Sequence is not supported");
      }
      parts.push_back(make_pre_tokenizer(list.index(i)));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(node.bool_or("add_prefix_space", true),
                                                   node.bool_or("use_regex", true));
  }
  if (type == "Split") {
    JsonNode pattern = node.at("pattern");
    pattern.expect_object();
    Behavior behavior = parse_behavior(node.at("behavior"));
    bool invert = node.bool_or("invert", false);
    if (auto re = pattern.get("Regex")) {
      auto known = known_split_pattern(re->str_view());
      if (!known) {
        re->fail(Status::Unsupported,
                 "Split regex is not one we implement (GPT-2, Llama-3, Qwen2 patterns): " +
                     re->str());
      }
      return std::make_unique<SplitPreTokenizer>(known, std::string(), behavior, invert);
    }
    return std::make_unique<SplitPreTokenizer>(std::nullopt, pattern.at("String").str(), behavior,
                                               invert);
  }
  if (type == "Metaspace") {
    std::string rep = single_char(node.at("replacement"));
    PrependScheme scheme = PrependScheme::Always;
    if (auto ps = node.get("prepend_scheme")) {
      std::string s = ps->str();
      if (s == "first") {
        scheme = PrependScheme::First;
      } else if (s == "always") {
        scheme = PrependScheme::Always;
      } else if (s == "never") {
        scheme = PrependScheme::Never;
      } else {
        ps->fail(Status::Format, "unknown prepend_scheme \"" + s + "\"");
      }
    }
    // Older files carry add_prefix_space instead; false means "never".
    if (auto aps = node.get("add_prefix_space"); aps && !aps->boolean()) scheme = PrependScheme::Never;
    return std::make_unique<MetaspacePreTokenizer>(rep, scheme, node.bool_or("split", true));
  }
  type_node.fail(Status::Unsupported, "pre_tokenizer type \"" + type + "\" is not supported");
}

}  // namespace gptq::tokenizer

#include "core/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "core/tokenizer/unicode.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

// The code point that ends just before byte `end` of valid UTF-8 text.
uint32_t code_point_before(std::string_view s, std::size_t end, std::size_t *start) {
  std::size_t i = end - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  std::size_t len;
  *start = i;
  return utf8::decode_at(s, i, &len);
}

bool ends_with_word(std::string_view s, std::size_t end) {
  if (end == 0) return false;
  std::size_t start;
  return is_word_char(code_point_before(s, end, &start));
}

bool starts_with_word(std::string_view s, std::size_t begin) {
  if (begin >= s.size()) return false;
  std::size_t len;
  return is_word_char(utf8::decode_at(s, begin, &len));
}

}  // namespace

void AddedTokenMatcher::build(const std::vector<AddedToken> &tokens, bool normalized_group) {
  tokens_ = &tokens;
  nodes_.assign(1, Node{});
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const AddedToken &tok = tokens[t];
    if (tok.normalized != normalized_group || tok.pattern.empty()) continue;
    int32_t node = 0;
    for (unsigned char b : tok.pattern) {
      int32_t next = child(node, b);
      if (next < 0) {
        next = int32_t(nodes_.size());
        nodes_[std::size_t(node)].children.push_back({b, next});
        nodes_.emplace_back();
      }
      node = next;
    }
    // Two tokens with one pattern: the later one wins, like a hash map insert.
    nodes_[std::size_t(node)].token = int32_t(t);
    first_byte_[static_cast<uint8_t>(tok.pattern[0])] = true;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  for (const auto &[byte, next] : nodes_[std::size_t(node)].children)
    if (byte == b) return next;
  return -1;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextPiece> &out) const {
  const std::size_t n = text.size();
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  while (pos < n && !empty()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest pattern starting at pos.
    int32_t node = 0, best = -1;
    std::size_t best_end = 0;
    for (std::size_t i = pos; i < n; ++i) {
      node = child(node, static_cast<uint8_t>(text[i]));
      if (node < 0) break;
      if (nodes_[std::size_t(node)].token >= 0) {
        best = nodes_[std::size_t(node)].token;
        best_end = i + 1;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken &tok = (*tokens_)[std::size_t(best)];
    std::size_t start = pos, stop = best_end;
    pos = best_end;  // the automaton resumes after this match whatever we do with it
    if (tok.single_word) {
      bool start_space = start == 0 || !ends_with_word(text, start);
      bool stop_space = stop == n || !starts_with_word(text, stop);
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      std::size_t s = start;
      while (s > 0) {
        std::size_t cs;
        if (!is_whitespace(code_point_before(text, s, &cs))) break;
        s = cs;
      }
      start = std::max(s, start_offset);
    }
    if (tok.rstrip) {
      while (stop < n) {
        std::size_t len;
        if (!is_whitespace(utf8::decode_at(text, stop, &len))) break;
        stop += len;
      }
    }
    if (start_offset < start) out.push_back({uint32_t(start_offset), uint32_t(start), -1});
    out.push_back({uint32_t(start), uint32_t(stop), tok.id});
    start_offset = stop;
  }
  if (start_offset < n) out.push_back({uint32_t(start_offset), uint32_t(n), -1});
}

}  // namespace gptq::tokenizer

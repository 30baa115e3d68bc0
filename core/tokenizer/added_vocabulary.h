// Added tokens ("added_tokens" in tokenizer.json): matched in the text before the
// model sees it, as HF's AddedVocabulary does.
//
// Tokens with normalized=false are found in the raw text first; the rest of the text
// is then normalized piece by piece and tokens with normalized=true are found in the
// normalized pieces (their pattern is their own content run through the normalizer).
// Matching is leftmost-longest; a match is then dropped when single_word is set and it
// touches a word character, widened over whitespace on its left (lstrip) or right
// (rstrip). A dropped match is not retried at a later position (HF iterates the
// automaton's non-overlapping matches and skips it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  std::string pattern;  // what is matched: content, or its normalized form
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of a text: either an added token (id >= 0) or plain text (id < 0).
struct TextPiece {
  uint32_t begin;
  uint32_t end;
  int32_t id;
};

// A byte trie over the patterns of one group of added tokens.
class AddedTokenMatcher {
 public:
  void build(const std::vector<AddedToken> &tokens, bool normalized_group);
  bool empty() const { return nodes_.size() <= 1; }
  // Splits `text` into pieces (HF find_matches). Empty plain pieces are omitted.
  void split(std::string_view text, std::vector<TextPiece> &out) const;

 private:
  struct Node {
    int32_t token = -1;  // index into tokens_ when a pattern ends here
    std::vector<std::pair<uint8_t, int32_t>> children;
  };
  int32_t child(int32_t node, uint8_t b) const;
  const std::vector<AddedToken> *tokens_ = nullptr;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace gptq::tokenizer

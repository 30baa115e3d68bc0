// Hand-written matchers for the pre-tokenizer regexes that byte-level BPE files use.
//
// tokenizer.json carries these as regex text; we recognise the exact strings and run
// a matcher that reproduces the regex's leftmost-first semantics (including the
// backtracking of \s+(?!\S) and \s*[\r\n]+), with no regex engine:
//   Gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//           | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2:  as Llama3 with \p{N} instead of \p{N}{1,3}.
// Every one of them matches at every position of any non-empty text (the alternatives
// cover letters, numbers, whitespace and everything else), so a split is simply the
// sequence of matches from the start.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace gptq::tokenizer {

enum class SplitPattern { Gpt2, Llama3, Qwen2 };

// The pattern whose regex text is exactly `regex`, if we implement it.
std::optional<SplitPattern> known_split_pattern(std::string_view regex);

// End of the match that starts at `pos` (< s.size()); s is valid UTF-8. Always > pos.
std::size_t match_split_pattern(SplitPattern p, std::string_view s, std::size_t pos);

}  // namespace gptq::tokenizer

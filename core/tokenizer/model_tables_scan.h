// The two large members of a BPE tokenizer.json, model.vocab and model.merges (a few
// hundred thousand entries in Llama-3 or Qwen2 files), read straight from the file text.
//
// Building a JSON DOM of them costs most of a load (a std::map node per token, a
// string per merge); this strict single-pass reader stores their strings back to back
// in one arena instead, and hands the DOM parser the rest of the file with those two
// values replaced by {} and []. Syntax is checked exactly as a JSON parser would
// (escapes, surrogate pairs, control characters, UTF-8), and errors name the file and
// the byte or the JSON path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gptq::tokenizer {

struct ScannedModelTables {
  struct Str {
    uint32_t off;
    uint32_t len;
  };
  struct VocabEntry {
    Str key;
    int64_t id;
  };
  // A merge: "a b" (pair false: `a` holds the whole line) or ["a", "b"] (pair true).
  struct MergeEntry {
    Str a;
    Str b;
    bool pair;
  };
  std::string arena;
  std::vector<VocabEntry> vocab;  // in file order
  std::vector<MergeEntry> merges;
  bool has_vocab = false;   // $.model.vocab was an object and was read here
  bool has_merges = false;  // $.model.merges was an array and was read here

  std::string_view str(Str s) const { return std::string_view(arena).substr(s.off, s.len); }
};

// Reads $.model.vocab and $.model.merges of `text` (the contents of `file`) into `out`
// when they are an object and an array, and returns `text` with each value read
// replaced by an empty one of its kind. Values of other kinds, and files where they
// are absent, come back untouched, for the DOM reader to report. A syntax error in what
// it reads, a duplicate "model", "vocab" or "merges" key, or a wrong type inside them
// is Error(Format) naming the file and the byte or path.
std::string scan_model_tables(std::string_view text, const std::string &file, ScannedModelTables &out);

}  // namespace gptq::tokenizer

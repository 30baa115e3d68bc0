// Helpers shared by the tokenizer tests: tiny tokenizer.json documents built in code.
#pragma once

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/tokenizer/tokenizer.h"

namespace gptq::tokenizer::test {

inline std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A BPE tokenizer.json over `vocab` (id = position) and `merges` ("a b").
inline nlohmann::json bpe_doc(const std::vector<std::string> &vocab,
                              const std::vector<std::string> &merges) {
  nlohmann::json v = nlohmann::json::object();
  for (std::size_t i = 0; i < vocab.size(); ++i) v[vocab[i]] = i;
  return {{"version", "1.0"},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"fuse_unk", false},
            {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", v}, {"merges", merges}}}};
}

inline Tokenizer load(const nlohmann::json &doc) { return Tokenizer::from_json(doc.dump()); }

inline nlohmann::json added(int id, const std::string &content, bool special = true) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", !special}, {"special", special}};
}

}  // namespace gptq::tokenizer::test

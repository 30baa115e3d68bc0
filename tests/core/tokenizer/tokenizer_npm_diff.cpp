// Compares our ids with reference ids from HF tokenizers (written by
// tests/reference/tokenizer_npm_fuzz.py through the npm package). Not a test: the
// differential fuzz run on a developer machine, which needs node and the package.
//
//   tokenizer_npm_diff CASES.json
//
// CASES.json: {"tokenizer": "path/tokenizer.json", "cases": [{"text": ... | "bytes_hex":
// ..., "ids": [...], "ids_no_special": [...]}, ...]}. Prints one JSON line per case that
// differs and a summary line; exits 1 when any differs.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/core/tokenizer/test_util.h"

int main(int argc, char **argv) {
  using gptq::tokenizer::Tokenizer;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CASES.json\n", argv[0]);
    return 2;
  }
  try {
    const auto doc = nlohmann::json::parse(gptq::tokenizer::test::read_file(argv[1]));
    const Tokenizer tok = gptq::model::open_tokenizer(doc["tokenizer"].get<std::string>());
    std::size_t cases = 0, bytes = 0, differ = 0;
    for (const auto &c : doc["cases"]) {
      std::string text;
      if (c.contains("text")) {
        text = c["text"];
      } else {
        const std::string hex = c["bytes_hex"];
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
          text.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
      }
      ++cases;
      bytes += text.size();
      const auto ids = tok.encode(text, true), plain = tok.encode(text, false);
      const auto want = c["ids"].get<std::vector<int32_t>>();
      const auto want_plain = c["ids_no_special"].get<std::vector<int32_t>>();
      if (ids != want || plain != want_plain) {
        ++differ;
        nlohmann::json d = {{"case", c}, {"ours", ids}, {"ours_no_special", plain}};
        std::printf("%s\n", d.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      }
    }
    std::printf("{\"summary\": {\"cases\": %zu, \"bytes\": %zu, \"differ\": %zu}}\n", cases, bytes, differ);
    return differ ? 1 : 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}

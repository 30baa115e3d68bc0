// The pipeline's block reader (QuantizeModelOptions::read_threads): a block's
// tensors read on several threads at once give the checkpoint of the reader
// on one, byte for byte. RTN, so that nothing but the weights read decides
// the codes. (forward_test checks the block itself against the block read in
// order, on both test models.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config/typed.h"
#include "core/io/read_file.h"
#include "core/model/model.h"
#include "core/pipeline/quantize_model.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::quant {
namespace {

namespace fs = std::filesystem;

// Every file of `dir` (name and bytes), in name order; the report's
// timings aside, the same run gives the same files.
std::vector<std::pair<std::string, std::string>> files_of(const fs::path &dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto &e : fs::directory_iterator(dir))
    out.emplace_back(e.path().filename().string(), io::read_text_file(e.path(), std::size_t{1} << 30));
  std::sort(out.begin(), out.end());
  return out;
}

void compare_readers(const std::string &model_name) {
  GPTQ_REQUIRE_SHARED(source, "models/" + model_name);
  const auto model = model::Model::open(source);
  const auto config = config::parse_quantize_config(R"({"method": "rtn", "bits": 4, "group_size": 128})");
  std::vector<std::vector<std::pair<std::string, std::string>>> written;
  for (const int threads : {1, 3}) {
    const fs::path out = fs::temp_directory_path() / ("gptq_block_reader_" + model_name + "_" +
                                                     std::to_string(threads) + "_" + std::to_string(::getpid()));
    fs::remove_all(out);
    QuantizeModelOptions options;
    options.read_threads = threads;
    Logger log(LogLevel::Warn);
    (void)quantize_model(*model, config, out, options, test_pool(), test_quantize_engine(), test_forward_engine(),
                         Progress{}, log);
    written.push_back(files_of(out));
    fs::remove_all(out);
  }
  ASSERT_EQ(written[0].size(), written[1].size());
  for (std::size_t i = 0; i < written[0].size(); ++i) {
    EXPECT_EQ(written[0][i].first, written[1][i].first);
    EXPECT_TRUE(written[0][i].second == written[1][i].second) << written[0][i].first << " differs";
  }
}

TEST(BlockReader, ThreeThreadsWriteTheCheckpointOfOneLlama) { compare_readers("docs-llama-16m"); }

}  // namespace
}  // namespace gptq::quant

// Writes a GPTQ checkpoint of a float model with our writer, quantizing every
// decoder-block linear with RTN or with GPTQ on a synthetic Hessian (no
// forward pass needed), for tests/reference/load_gptq_checkpoint.py to load
// into transformers on the GPU machine and compare logits.
//   write_gptq_sample MODEL_DIR OUT_DIR [QUANTIZE_JSON] [rtn|gptq]
#include <cstdio>
#include <exception>
#include <string>

#include "core/config/typed.h"
#include "core/gptq_format/gptq_checkpoint_writer.h"
#include "core/model/block_linears.h"
#include "core/model/model.h"
#include "tests/core/gptq_format/gptq_checkpoint_test_support.h"

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr, "usage: write_gptq_sample MODEL_DIR OUT_DIR [QUANTIZE_JSON] [rtn|gptq]\n");
    return 2;
  }
  try {
    const auto source = gptq::model::Model::open(argv[1]);
    const auto config = gptq::config::parse_quantize_config(argc > 3 ? argv[3] : "");
    const bool gptq_method = argc > 4 && std::string(argv[4]) == "gptq";
    gptq::io::GptqCheckpointOptions options;
    options.overwrite = true;
    gptq::io::GptqCheckpointWriter writer(source->weights(), config, gptq::model::block_linears(source->spec()), argv[2], options);
    const auto results = gptq::testing::quantize_into(
        *source, config, gptq_method ? gptq::testing::Method::GptqSynthetic : gptq::testing::Method::Rtn,
        writer, gptq::quant::checkpoint_format(config));
    writer.finish();
    std::printf("wrote %s: %zu quantized linears\n", argv[2], results.size());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "write_gptq_sample: %s\n", e.what());
    return 1;
  }
  return 0;
}

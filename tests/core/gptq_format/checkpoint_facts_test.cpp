// The facts of the checkpoint format that several rooms check are one source
// (core/gptq_format/bit_widths.h, checkpoint_format.h): here each reader of
// them is held to it, so a width or a format added in one place and not in
// another fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/config/typed.h"
#include "core/gptq_format/bit_widths.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/model/model_config.h"

namespace gptq::quant {
namespace {

bool throws(const auto &f) {
  try {
    f();
  } catch (const Error &) {
    return true;
  }
  return false;
}

TEST(CheckpointFacts, EveryReaderOfBitsTakesExactlyTheFormatsWidths) {
  for (int bits = 0; bits <= 16; ++bits) {
    const bool valid = is_gptq_bit_width(bits);
    const std::string b = std::to_string(bits);
    // The schema's gptq_allowed on QuantizeConfig.bits (what callers pass).
    EXPECT_EQ(throws([&] { config::parse_quantize_config(R"({"bits": )" + b + "}"); }), !valid) << bits;
    // quantize_config.json / quantization_config of a checkpoint.
    EXPECT_EQ(throws([&] { model::parse_quantize_config_json(R"({"bits": )" + b + "}", "qc.json"); }), !valid)
        << bits;
    // The packer, on a layer every valid width can pack (K = N = 32).
    const std::vector<std::uint8_t> codes(32 * 32, 0);
    const std::vector<float> scales(32, 1.0f);
    const std::vector<std::int32_t> zeros(32, 1), g_idx(32, 0);
    EXPECT_EQ(throws([&] {
                pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, bits,
                          CheckpointFormat::V2);
              }),
              !valid)
        << bits;
  }
}

TEST(CheckpointFacts, FormatNamesAndTheSchemaEnumRoundTrip) {
  for (const CheckpointFormat f : {CheckpointFormat::V1, CheckpointFormat::V2}) {
    EXPECT_EQ(parse_checkpoint_format(checkpoint_format_name(f)), f);
    EXPECT_EQ(checkpoint_format(schema_checkpoint_format(f)), f);
    // The schema's own name for it is the checkpoint's.
    EXPECT_EQ(std::string(schema::EnumNameCheckpointFormat(schema_checkpoint_format(f))),
              std::string(checkpoint_format_name(f)));
  }
  EXPECT_EQ(parse_checkpoint_format("marlin"), std::nullopt);
  EXPECT_EQ(checkpoint_format(config::parse_quantize_config(R"({"checkpoint_format": "gptq_v2"})")),
            CheckpointFormat::V2);
  EXPECT_EQ(model::parse_quantize_config_json(R"({"bits": 4, "checkpoint_format": "gptq_v2"})", "qc.json")
                .checkpoint_format,
            CheckpointFormat::V2);
}

}  // namespace
}  // namespace gptq::quant

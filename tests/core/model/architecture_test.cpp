#include "core/model/architecture.h"

#include <gtest/gtest.h>

namespace gptq::model {
namespace {

using Groups = std::vector<std::vector<std::string_view>>;

TEST(Architecture, TrueSequentialOrder) {
  const Groups llama = {{"self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"},
                        {"self_attn.o_proj"},
                        {"mlp.up_proj", "mlp.gate_proj"},
                        {"mlp.down_proj"}};
  for (const char *type : {"llama", "mistral", "qwen2"}) {
    ASSERT_NE(find_architecture(type), nullptr) << type;
    EXPECT_EQ(find_architecture(type)->sequential_groups, llama) << type;
  }
  const Groups opt = {{"self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"},
                      {"self_attn.out_proj"},
                      {"fc1"},
                      {"fc2"}};
  EXPECT_EQ(find_architecture("opt")->sequential_groups, opt);
}

TEST(Architecture, BlockPrefixes) {
  EXPECT_EQ(block_prefix(*find_architecture("llama"), 3), "model.layers.3.");
  EXPECT_EQ(block_prefix(*find_architecture("opt"), 0), "model.decoder.layers.0.");
}

TEST(Architecture, UnknownTypeIsAbsent) {
  EXPECT_EQ(find_architecture("gpt2"), nullptr);
  EXPECT_EQ(architectures().size(), 4u);
}

}  // namespace
}  // namespace gptq::model

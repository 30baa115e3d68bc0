#include "core/io/sharded_checkpoint.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/core/io/io_test_support.h"
#include "tests/support/shared_data.h"

namespace gptq::io {
namespace {

using gptq::testing::safetensors_bytes;
using gptq::testing::TempDir;
using gptq::testing::write_bytes;

// One F32 [1] tensor per name, as a valid safetensors file.
std::string shard_with(const std::vector<std::string> &names) {
  std::string header = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) header += ",";
    header += "\"" + names[i] + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" +
              std::to_string(4 * i) + "," + std::to_string(4 * i + 4) + "]}";
  }
  return safetensors_bytes(header + "}", 4 * names.size());
}

TEST(ShardedCheckpoint, OpensTheRealLlamaLazily) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir);
  EXPECT_EQ(ckpt.shard_count(), 3u);
  EXPECT_EQ(ckpt.opened_shard_count(), 0u);  // opening reads the index only
  EXPECT_EQ(ckpt.tensor_names().size(), 3u + 6u * 9u);
  EXPECT_TRUE(std::is_sorted(ckpt.tensor_names().begin(), ckpt.tensor_names().end()));
  EXPECT_EQ(ckpt.total_size(), 31467264u);
  EXPECT_EQ(ckpt.shard_of("lm_head.weight"), "model-00003-of-00003.safetensors");

  const TensorView head = ckpt.tensor("lm_head.weight");
  EXPECT_EQ(head.shape, (std::vector<std::int64_t>{8192, 384}));
  EXPECT_EQ(ckpt.opened_shard_count(), 1u);
  ckpt.tensor("lm_head.weight");
  EXPECT_EQ(ckpt.opened_shard_count(), 1u);

  std::uint64_t total = 0;
  for (const std::string &name : ckpt.tensor_names()) total += ckpt.tensor(name).data.size();
  EXPECT_EQ(total, *ckpt.total_size());
  EXPECT_EQ(ckpt.opened_shard_count(), 3u);
  EXPECT_GPTQ_ERROR(ckpt.tensor("nope"), Status::Format, {dir.string(), "'nope'"});
  EXPECT_FALSE(ckpt.find("nope").has_value());
}

TEST(ShardedCheckpoint, OpensTheRealOpt) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir);
  EXPECT_EQ(ckpt.shard_count(), 2u);
  EXPECT_EQ(ckpt.tensor("model.decoder.embed_positions.weight").shape,
            (std::vector<std::int64_t>{2050, 384}));
}

TEST(ShardedCheckpoint, ConcurrentFirstAccessMapsEachShardOnce) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir);
  std::vector<std::thread> threads;
  std::vector<std::size_t> bytes(8);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    threads.emplace_back([&, i] {
      for (const std::string &name : ckpt.tensor_names()) bytes[i] += ckpt.tensor(name).data.size();
    });
  }
  for (auto &t : threads) t.join();
  for (std::size_t b : bytes) EXPECT_EQ(b, *ckpt.total_size());
  EXPECT_EQ(ckpt.opened_shard_count(), 3u);
}

TEST(ShardedCheckpoint, ReadsASingleFile) {
  TempDir dir;
  write_bytes(dir / "model.safetensors", shard_with({"b", "a"}));
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.tensor_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ckpt.tensor("b").data.size(), 4u);
  EXPECT_EQ(ckpt.shard_of("a"), "model.safetensors");
}

TEST(ShardedCheckpoint, ALoneFileOfAnyNameIsRead) {
  // AutoGPTQ <= 0.7 saved gptq_model-4bit-128g.safetensors, usually without
  // naming it in its config.
  TempDir dir;
  write_bytes(dir / "gptq_model-4bit-128g.safetensors", shard_with({"a"}));
  write_bytes(dir / ".hidden.safetensors", shard_with({"x"}));  // not a candidate
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_EQ(ckpt.shard_of("a"), "gptq_model-4bit-128g.safetensors");
  EXPECT_EQ(ckpt.source(), dir / "gptq_model-4bit-128g.safetensors");
  // So is the only index of any name, with its shards.
  TempDir sharded;
  write_bytes(sharded / "s1.safetensors", shard_with({"a"}));
  write_bytes(sharded / "s2.safetensors", shard_with({"b"}));
  write_bytes(sharded / "gptq_model-4bit-128g.safetensors.index.json",
              R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  EXPECT_EQ(ShardedCheckpoint::open(sharded.path()).tensor_names(), (std::vector<std::string>{"a", "b"}));
}

TEST(ShardedCheckpoint, SeveralCandidatesAreAnErrorListingThem) {
  TempDir dir;
  write_bytes(dir / "b.safetensors", shard_with({"b"}));
  write_bytes(dir / "a.safetensors", shard_with({"a"}));
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {dir.path().string(), "'a.safetensors', 'b.safetensors'", "model_file_base_name"});
  write_bytes(dir / "x.safetensors.index.json", R"({"weight_map":{"a":"a.safetensors"}})");
  write_bytes(dir / "y.safetensors.index.json", R"({"weight_map":{"b":"b.safetensors"}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"'x.safetensors.index.json', 'y.safetensors.index.json'"});
  // The standard names settle it.
  write_bytes(dir / "model.safetensors", shard_with({"m"}));
  EXPECT_EQ(ShardedCheckpoint::open(dir.path()).tensor_names(), std::vector<std::string>{"m"});
}

TEST(ShardedCheckpoint, ANamedFileComesFirst) {
  TempDir dir;
  write_bytes(dir / "gptq_model-4bit-128g.safetensors", shard_with({"q"}));
  write_bytes(dir / "adapter.safetensors", shard_with({"lora"}));
  for (const char *name : {"gptq_model-4bit-128g", "gptq_model-4bit-128g.safetensors"})
    EXPECT_EQ(ShardedCheckpoint::open(dir.path(), name).tensor_names(), std::vector<std::string>{"q"}) << name;
  write_bytes(dir / "model.safetensors", shard_with({"m"}));
  EXPECT_EQ(ShardedCheckpoint::open(dir.path(), "gptq_model-4bit-128g").tensor_names(),
            std::vector<std::string>{"q"});
  // A named index, as AutoGPTQ's get_checkpoints() looks for it.
  write_bytes(dir / "s1.safetensors", shard_with({"i"}));
  write_bytes(dir / "gptq_model-4bit-128g.safetensors.index.json", R"({"weight_map":{"i":"s1.safetensors"}})");
  EXPECT_EQ(ShardedCheckpoint::open(dir.path(), "gptq_model-4bit-128g").tensor_names(),
            std::vector<std::string>{"i"});
  // A name that names nothing falls back on the standard names, and is an
  // error listing the directory without them.
  EXPECT_EQ(ShardedCheckpoint::open(dir.path(), "other").tensor_names(), std::vector<std::string>{"m"});
  std::filesystem::remove(dir / "model.safetensors");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path(), "other"), Status::Io,
                    {"'other'", "model_file_base_name", "'adapter.safetensors'"});
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path(), "../other"), Status::Format,
                    {"'../other'", "not a file name"});
}

TEST(ShardedCheckpoint, OpenAllShardsFindsABrokenOneUpFront) {
  TempDir dir;
  write_bytes(dir / "s1.safetensors", shard_with({"a"}));
  write_bytes(dir / "s2.safetensors", "garbage");
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_GPTQ_ERROR(ckpt.open_all_shards(), Status::Format, {"s2.safetensors"});
  write_bytes(dir / "s2.safetensors", shard_with({"b"}));
  const ShardedCheckpoint good = ShardedCheckpoint::open(dir.path());
  good.open_all_shards();
  EXPECT_EQ(good.opened_shard_count(), 2u);
}

TEST(ShardedCheckpoint, EmptyDirectoryIsIo) {
  TempDir dir;
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Io,
                    {dir.path().string(), "model.safetensors.index.json"});
}

TEST(ShardedCheckpoint, MissingShardFileIsIo) {
  TempDir dir;
  write_bytes(dir / "s1.safetensors", shard_with({"a"}));
  write_bytes(dir / "model.safetensors.index.json",
              R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Io,
                    {"model.safetensors.index.json", "'s2.safetensors'", "'b'"});
}

TEST(ShardedCheckpoint, IndexNamingATensorTheShardLacks) {
  TempDir dir;
  write_bytes(dir / "s1.safetensors", shard_with({"a"}));
  write_bytes(dir / "model.safetensors.index.json",
              R"({"weight_map":{"a":"s1.safetensors","ghost":"s1.safetensors"}})");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  // The shard is checked against the index when it is mapped, whichever tensor is asked for.
  EXPECT_GPTQ_ERROR(ckpt.tensor("a"), Status::Format,
                    {"model.safetensors.index.json", "'ghost'", "s1.safetensors"});
}

TEST(ShardedCheckpoint, CorruptShardSurfacesOnAccess) {
  TempDir dir;
  write_bytes(dir / "s1.safetensors", "garbage");
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors"}})");
  const ShardedCheckpoint ckpt = ShardedCheckpoint::open(dir.path());
  EXPECT_GPTQ_ERROR(ckpt.tensor("a"), Status::Format, {"s1.safetensors"});
  EXPECT_EQ(ckpt.opened_shard_count(), 0u);
}

TEST(ShardedCheckpoint, IndexNotJson) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", "{\"weight_map\": ");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "invalid JSON at byte"});
}

TEST(ShardedCheckpoint, IndexWithoutWeightMap) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", R"({"metadata":{}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "'weight_map'"});
}

TEST(ShardedCheckpoint, IndexWithWrongTypes) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"a":3}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "'a'", "expected a file name"});
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":[]})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "'weight_map'", "an array"});
  write_bytes(dir / "model.safetensors.index.json",
              R"({"metadata":{"total_size":"big"},"weight_map":{}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "total_size"});
  write_bytes(dir / "model.safetensors.index.json",
              R"({"metadata":{"total_size":1e300},"weight_map":{}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "total_size"});
  write_bytes(dir / "model.safetensors.index.json",
              R"({"metadata":{"total_size":12.0},"weight_map":{}})");
  EXPECT_EQ(ShardedCheckpoint::open(dir.path()).total_size(), 12u);
}

TEST(ShardedCheckpoint, IndexDuplicateTensor) {
  TempDir dir;
  write_bytes(dir / "s1.safetensors", shard_with({"a"}));
  write_bytes(dir / "model.safetensors.index.json",
              R"({"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "duplicate key 'a'"});
}

TEST(ShardedCheckpoint, IndexCannotEscapeTheDirectory) {
  TempDir dir;
  write_bytes(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../etc/passwd"}})");
  EXPECT_GPTQ_ERROR(ShardedCheckpoint::open(dir.path()), Status::Format,
                    {"model.safetensors.index.json", "'a'", "../etc/passwd"});
}

}  // namespace
}  // namespace gptq::io

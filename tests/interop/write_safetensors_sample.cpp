// Writes a sharded checkpoint with our safetensors writer, one tensor per
// dtype, for tests/reference/check_safetensors_interop.py to read with the
// Python `safetensors` package (on the GPU machine, which has it). Byte k of
// tensor t holds (k * 7 + 3 * t) mod 251, so the reader recomputes every value.
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/base/error.h"
#include "core/io/safetensors_writer.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_safetensors_sample OUT_DIR\n");
    return 2;
  }
  using gptq::DType;
  const DType dtypes[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64,
                          DType::I32, DType::I8,  DType::U8,   DType::Bool};
  std::vector<std::vector<std::byte>> storage;
  std::vector<gptq::io::TensorSource> sources;
  int t = 0;
  for (DType d : dtypes) {
    gptq::io::TensorSource s;
    s.name = std::string("tensor.") + std::string(gptq::dtype_name(d));
    s.dtype = d;
    s.shape = {37, 3 + t};
    const size_t bytes = 37 * (3 + t) * gptq::dtype_size(d);
    std::vector<std::byte> data(bytes);
    for (size_t k = 0; k < bytes; ++k) {
      unsigned v = static_cast<unsigned>((k * 7 + 3 * t) % 251);
      // BOOL must hold 0 or 1.
      data[k] = static_cast<std::byte>(d == DType::Bool ? v & 1 : v);
    }
    storage.push_back(std::move(data));
    ++t;
  }
  for (size_t i = 0; i < storage.size(); ++i) {
    gptq::io::TensorSource s;
    s.name = std::string("tensor.") + std::string(gptq::dtype_name(dtypes[i]));
    s.dtype = dtypes[i];
    s.shape = {37, static_cast<int64_t>(3 + i)};
    if (i % 2 == 0) {
      s.data = storage[i];
    } else {
      // Every other tensor is streamed through a fill callback in 5-byte chunks.
      const auto &src = storage[i];
      s.fill = [&src](std::span<std::byte> chunk, std::uint64_t offset) {
        for (size_t k = 0; k < chunk.size(); ++k) chunk[k] = src[offset + k];
      };
    }
    sources.push_back(std::move(s));
  }
  gptq::io::SafetensorsWriteOptions opt;
  opt.max_shard_bytes = 2048;
  opt.fill_chunk_bytes = 5;
  opt.metadata["writer"] = "libgptq";
  try {
    std::filesystem::create_directories(argv[1]);
    auto files = gptq::io::write_safetensors_checkpoint(argv[1], sources, opt);
    for (const auto &f : files) std::printf("%s\n", f.c_str());
  } catch (const gptq::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}

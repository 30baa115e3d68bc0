// Arbitrary bytes as a whole safetensors file, parsed from memory (the path
// SafetensorsFile::open takes after mmap). Anything but gptq::Error escaping,
// or any out-of-bounds access while touching the views, is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/base/error.h"
#include "core/io/safetensors_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  try {
    const auto file = gptq::io::SafetensorsFile::from_memory(
        std::as_bytes(std::span(data, size)), "fuzz-input");
    unsigned sum = 0;
    for (const auto &entry : file.entries()) {
      const auto view = file.tensor(entry.name);
      if (!view.data.empty())  // first and last byte: ASan checks both are in the input
        sum += static_cast<unsigned>(view.data.front()) + static_cast<unsigned>(view.data.back());
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const gptq::Error &) {
  }
  return 0;
}

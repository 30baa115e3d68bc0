#include "core/model/tokenizer_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/base/error.h"
#include "core/io/read_file.h"

namespace gptq::model {
namespace {

// Real tokenizer.json files are a few MB (the largest vocabularies, ~250k tokens, some
// 35 MB); far beyond that the file is not what we think it is.
constexpr std::uint64_t kMaxTokenizerFileBytes = std::uint64_t{1} << 30;

// The file's text, read by io's one reader once it is known to be a regular
// file: io reads a FIFO to its end (calibration text may come from a pipe),
// where a tokenizer given as a FIFO is refused, and the messages below are
// the ones tokenizer users have always seen.
std::string read_tokenizer_file(const std::filesystem::path &p) {
  const std::string name = p.string();
  struct stat st {};
  if (::stat(name.c_str(), &st) != 0) fail(Status::Io, name + ": cannot open: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(Status::Io, name + ": not a regular file");
  return io::read_text_file(p, kMaxTokenizerFileBytes);
}

}  // namespace

tokenizer::Tokenizer open_tokenizer(const std::filesystem::path &path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  std::filesystem::path dir, file;
  if (std::filesystem::is_directory(status)) {
    dir = path;
    file = path / "tokenizer.json";
  } else if (std::filesystem::exists(status)) {
    dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    file = path;  // read_tokenizer_file says so when it is not a regular file
  } else {
    fail(Status::Io, path.string() + ": cannot open: " + std::strerror(ec ? ec.value() : ENOENT));
  }
  const auto config = dir / "tokenizer_config.json";
  const std::string tok = read_tokenizer_file(file);
  const std::string cfg = std::filesystem::exists(config, ec) ? read_tokenizer_file(config) : std::string();
  return tokenizer::Tokenizer::from_json(tok, cfg, file.string(),
                                         std::filesystem::exists(dir / "chat_template.jinja", ec));
}

}  // namespace gptq::model

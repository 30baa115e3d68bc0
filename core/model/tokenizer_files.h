// A model's tokenizer files, found and read for the tokenizer room (which
// reads no files): tokenizer.json, the tokenizer_config.json beside it when
// present, and whether a chat_template.jinja sits there too.
#pragma once

#include <filesystem>

#include "core/tokenizer/tokenizer.h"

namespace gptq::model {

// `path`: a tokenizer.json file or a directory holding one. Error(Io) naming
// the file with the reason when it cannot be read: "<file>: cannot open:
// No such file or directory" (or the other reason), "<file>: not a regular
// file" (a directory, a FIFO, ...); Error(Format) when it is larger than any
// real tokenizer; the tokenizer's own errors for its content.
tokenizer::Tokenizer open_tokenizer(const std::filesystem::path &path);

}  // namespace gptq::model

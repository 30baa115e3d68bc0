// Calibration data for GPTQ: windows of `seqlen` tokens on which the layer
// inputs (and so the Hessians) are collected.
//
// From text files, the GPTQ paper's protocol (its datautils.py for
// WikiText-2): the texts are joined with "\n\n" into one corpus, tokenized
// once as transformers' tokenizer(text) does (special tokens such as BOS added
// once, at the start), and each of the `nsamples` windows starts at an offset
// drawn uniformly from [0, tokens - seqlen] (inclusive: the published code's
// randint(0, tokens - seqlen - 1) leaves out the last possible start, which
// makes no difference to the statistics and lets a text of exactly one window
// be used). Offsets come from SplitMix64(seed) (core/pipeline/seeded_random.h),
// one below(tokens - seqlen + 1) draw per window in order, so they are the
// same on every platform; they are exposed so a Python reference can cut the
// very same windows. Windows may overlap, as in the paper.
//
// File formats: a file whose name ends in ".jsonl" holds one JSON object per
// line with a string field "text" (blank lines are ignored); each object is
// one document. Any other file is one document, its whole content. Documents
// of all files, in order, are joined with "\n\n" — the separator of the
// paper's WikiText-2 protocol and of our data files (documents separated by a
// blank line). GPTQModel instead tokenizes each document as its own sample of
// its own length; fixed windows keep every sample the same length and the
// protocol the paper's.
//
// From token ids given by the caller: consecutive, non-overlapping windows
// ids[i*seqlen, (i+1)*seqlen), as many as fit, at most nsamples.
//
// seqlen 0 means the model's context, capped at 2048 (the paper's); a seqlen
// longer than the model's context (core/model/context_length.h) is refused,
// never shortened behind the caller's back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "schema/gptq_generated.h"

namespace gptq::tokenizer {
class Tokenizer;
}
namespace gptq::model {
class Model;
}

namespace gptq::quant {

struct CalibrationData {
  std::int64_t seqlen = 0;             // tokens per window (after 0 / context rules)
  std::vector<std::int32_t> tokens;    // the token stream the windows are cut from
  std::vector<std::int64_t> offsets;   // first token of each window in `tokens`
  std::size_t size() const { return offsets.size(); }
  std::span<const std::int32_t> window(std::size_t i) const {
    return std::span<const std::int32_t>(tokens).subspan(static_cast<std::size_t>(offsets.at(i)),
                                                         static_cast<std::size_t>(seqlen));
  }
};

// The window length used for a requested seqlen (0: the context, capped at
// 2048) and the model's context (0 or less: unknown). Throws InvalidArgument
// naming both numbers when the request is longer than the context.
std::int64_t effective_seqlen(std::int64_t requested, std::int64_t context);

// `count` offsets in [0, tokens - seqlen] from SplitMix64(seed), as described
// above. Throws InvalidArgument when tokens < seqlen or a size is not positive.
std::vector<std::int64_t> random_window_offsets(std::int64_t tokens, std::int64_t seqlen,
                                                std::int64_t count, std::uint64_t seed);

// The documents of one file (one for plain text, one per line of JSONL).
// Throws Io when it cannot be read, Format naming the file and line for a
// JSONL line that is not an object with a string "text".
std::vector<std::string> read_calibration_documents(const std::filesystem::path &file);

// The windows the config asks for. `tokenizer` is needed for files (may be
// null for token_ids); `vocab_size` (0: unknown) bounds the caller's ids.
// Throws InvalidArgument for files and token_ids both or neither given, an id
// outside the vocabulary (naming its index), or a text / id list shorter than
// one window (naming the files, the token count and the seqlen), a seqlen
// longer than `context` (effective_seqlen; checked before any file is read);
// Unsupported for files without a tokenizer.
CalibrationData make_calibration(const schema::CalibrationConfigT &config,
                                 const tokenizer::Tokenizer *tokenizer,
                                 std::int64_t context, std::int64_t vocab_size);

// The same with the model's tokenizer, context and vocabulary.
CalibrationData make_calibration(const schema::CalibrationConfigT &config,
                                 const model::Model &model);

}  // namespace gptq::quant

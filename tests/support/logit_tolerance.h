// How far another summation order may move a logit of the test models
// (docs-llama-16m, docs-opt-15m) in fp32: another OpenBLAS kernel, thread
// split or row count of a GEMM (a batched run against a single one), or
// transformers on the GPU. Measured (tests/core/model/logits_reference_test.cpp):
// at most 1.4e-5 over OpenBLAS's Haswell, Zen, SkylakeX, Cooperlake,
// Sandybridge, Nehalem and Prescott kernels on 1 and 2 threads against the
// H200's transformers; 2e-3 leaves two orders of magnitude for other hardware.
// Greedy tokens compared exactly need every step's margin above it.
#pragma once

namespace gptq::testing {

constexpr double kLogitTolerance = 2e-3;

}  // namespace gptq::testing

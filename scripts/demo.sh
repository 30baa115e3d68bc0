#!/usr/bin/env bash
# The README's main command: installs what is needed, builds libgptq, and runs
# what works today on a model.
#   scripts/demo.sh [MODEL_DIR]
# MODEL_DIR defaults to demo/docs-llama-tiny, the small model this repository
# ships (demo/README.md says how it was made).
#
# Today that is: the library, its backend choice and configuration checks, and
# reading a Hugging Face model directory (architecture, tensors, tokenizer).
# Quantization, evaluation and generation are added here as they land; this
# script never prints a figure it did not compute.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"
gptq=build/default/bin/gptq

echo
echo "== libgptq on this machine"
"$gptq" info --verbose

echo
echo "== the quantization defaults, and what a bad value is told"
"$gptq" config quantize '{"bits": 4, "group_size": 128, "desc_act": false}'
"$gptq" config quantize '{"bits": 5}' || true

model=${1:-demo/docs-llama-tiny}
echo
if [ -z "${1:-}" ]; then
  echo "== model: $model (the demo model this repository ships; pass a model directory to use another)"
else
  echo "== model: $model"
fi
"$gptq" inspect "$model" --no-tensors
echo
echo "== tokenizing a sentence with the model's tokenizer"
"$gptq" tokenize "$model" -p "To create a table in PostgreSQL, use the CREATE TABLE command."

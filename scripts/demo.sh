#!/usr/bin/env bash
# The README's main command: installs what is needed, builds libgptq, and runs
# what works today on a model.
#   scripts/demo.sh [MODEL_DIR]
# MODEL_DIR defaults to ../shared/models/docs-llama-16m when it is there.
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

model=${1:-}
if [ -z "$model" ] && [ -d ../shared/models/docs-llama-16m ]; then
  model=../shared/models/docs-llama-16m
fi
if [ -z "$model" ]; then
  echo
  echo "No model given and ../shared/models is not here: pass a Hugging Face model directory."
  exit 0
fi
if "$gptq" inspect --help >/dev/null 2>&1; then
  echo
  echo "== model: $model"
  "$gptq" inspect "$model"
  echo
  echo "== tokenizing a sentence with the model's tokenizer"
  "$gptq" tokenize "$model" -p "To create a table in PostgreSQL, use the CREATE TABLE command."
fi

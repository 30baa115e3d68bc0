#!/usr/bin/env bash
# The README's main command: installs what is needed, builds libgptq, and runs
# what works today on a model.
#   scripts/demo.sh [MODEL_DIR]
# MODEL_DIR defaults to demo/docs-llama-tiny, the small model this repository
# ships (demo/README.md says how it was made).
#
# It quantizes the model to 4 bits with GPTQ on the CPU, evaluates perplexity
# before and after, and streams a greedy generation from the 4-bit checkpoint.
# Every figure it prints is computed in the run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
# Only what the demo runs: the gptq command and the library (with its CUDA
# backend where the toolkit is there); scripts/test.sh builds the tests.
targets=(gptq-cli)
cmake --build --preset default --target help | grep -q '^gptq-cuda:' && targets+=(gptq-cuda)
cmake --build --preset default -j "$(nproc)" --target "${targets[@]}"
gptq=build/default/bin/gptq

echo
echo "== libgptq on this machine"
"$gptq" info --verbose

echo
echo "== what a bad configuration value is told"
"$gptq" config quantize '{"bits": 5}' || true

model=${1:-demo/docs-llama-tiny}
calib=${CALIB:-demo/text/calib.txt}
eval_text=${EVAL:-demo/text/eval.txt}
# The demo model was trained on 256-token windows; other models use 512.
seqlen=${SEQLEN:-$([ -z "${1:-}" ] && echo 256 || echo 512)}
out=build/demo/$(basename "$model")-gptq-4bit-g128
mkdir -p build/demo
echo
if [ -z "${1:-}" ]; then
  echo "== model: $model (the demo model this repository ships; pass a model directory to use another)"
else
  echo "== model: $model"
fi
"$gptq" inspect "$model" --no-tensors

echo
echo "== quantizing with the library's defaults (4 bits, group 128: \`$gptq quantize --help\`) on $calib (128 windows of $seqlen tokens)"
"$gptq" quantize "$model" --out "$out" --calib "$calib" --nsamples 128 --seqlen "$seqlen" --force

echo
echo "== perplexity on $eval_text (windows of $seqlen tokens)"
printf "float:      "; "$gptq" eval "$model" --ppl "$eval_text" --seqlen "$seqlen" --json
printf "GPTQ 4-bit: "; "$gptq" eval "$out" --ppl "$eval_text" --seqlen "$seqlen" --json

echo
prompt="To create a table in PostgreSQL, use the"
echo "== greedy generation from the 4-bit checkpoint: \"$prompt\""
printf "%s" "$prompt"
"$gptq" generate "$out" -p "$prompt" --max-new-tokens 32 --temperature 0
echo
echo "The 4-bit checkpoint is in $out (Hugging Face GPTQ format)."

#!/usr/bin/env bash
# On the GPU machine, from the repo root: the README's accuracy table and the
# logits references of one shared model. Expects, under the carried folder DIR:
#   models/NAME (the float model), data/*.txt (../shared/data),
#   qck/NAME-w4g128 (the checkpoint made here by `gptq quantize --config
#   qck/quantize.json` on the development machine) and qck/quantize.json.
# Builds the CPU library and CLI if needed (scripts/device/build.sh, no tests),
# then writes into $OUT:
#   accuracy-NAME.json           tests/reference/accuracy_table.py
#   logits_fp16_NAME.json        the float model's logits (full last position)
#   logits_gptq_w4g128_NAME.json the checkpoint's, with the config it was made with
#   usage: [ROWS=0-11] [LOGITS=1] scripts/device/accuracy.sh NAME DIR COMMIT
# (ROWS: the table's rows to make, see accuracy_table.py --rows; LOGITS=0
# skips the logits references; split a model over calls of 10 minutes.)
set -euo pipefail
name=$1 dir=$2 commit=$3 rows=${ROWS:-0-11}
out=${OUT:-/tmp/out}
GPTQ_DEPS_TAR=.carry/deps/deps-tree.tar.xz source scripts/device/build.sh default -DGPTQ_BUILD_TESTS=OFF -DGPTQ_CUDA=OFF \
  >/tmp/build.log 2>&1 || { tail -50 /tmp/build.log; exit 1; }
short=${name#docs-}; short=${short%%-*}
if [ "${LOGITS:-1}" = 1 ]; then
python3 tests/reference/logits_reference.py --full-last --models "$dir/models/$name" \
  --out "$out/logits_fp16_$short.json"
python3 tests/reference/logits_reference.py --full-last --quantize-config "$dir/qck/quantize.json" \
  --names "$name" --models "$dir/qck/$name-w4g128" --out "$out/logits_gptq_w4g128_$short.json"
fi
GPTQ_COMMIT=$commit python3 tests/reference/accuracy_table.py --gptq build/default/bin/gptq \
  --model "$dir/models/$name" --calib "$dir/data/docs_calib.txt" \
  --texts "$dir/data/wikitext2_test.txt" "$dir/data/docs_heldout.txt" \
  --work /tmp/acc-$name --out "$out/accuracy-$name-rows$rows.json" --threads "$(nproc)" --rows "$rows"

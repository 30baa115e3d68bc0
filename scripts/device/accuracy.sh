#!/usr/bin/env bash
# On the GPU machine, from the repo root: rows of the README's accuracy table
# for one shared model. Expects, under the carried folder DIR: models/NAME
# (the float model) and data/*.txt (../shared/data). Builds the CPU library and
# CLI if needed (scripts/device/build.sh with GPTQ_DEPS_TAR, no tests), then
# writes $OUT/accuracy-NAME-rowsROWS.json (tests/reference/accuracy_table.py;
# scripts/device/merge_bench_json.py joins the parts).
#   usage: [ROWS=0-11] scripts/device/accuracy.sh NAME DIR COMMIT
# (ROWS: see accuracy_table.py --rows; split a model over calls of 10 minutes.)
set -euo pipefail
name=$1 dir=$2 commit=$3 rows=${ROWS:-0-11}
out=${OUT:-/tmp/out}
GPTQ_DEPS_TAR=.carry/deps/deps-tree.tar.xz source scripts/device/build.sh default -DGPTQ_BUILD_TESTS=OFF -DGPTQ_CUDA=OFF \
  >/tmp/build.log 2>&1 || { tail -50 /tmp/build.log; exit 1; }
GPTQ_COMMIT=$commit python3 tests/reference/accuracy_table.py --gptq build/default/bin/gptq \
  --model "$dir/models/$name" --calib "$dir/data/docs_calib.txt" \
  --texts "$dir/data/wikitext2_test.txt" "$dir/data/docs_heldout.txt" \
  --work /tmp/acc-$name --out "$out/accuracy-$name-rows$rows.json" --threads "$(nproc)" --rows "$rows"

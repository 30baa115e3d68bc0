#!/usr/bin/env bash
# Checks that a change of the code changed no result: the `gptq` of BASE (a git
# revision, built in a temporary worktree) and the one of this tree quantize
# both shared models with the same explicit configurations, and the
# checkpoints must be byte-identical, their perplexity the same number and
# their greedy generation the same text. For refactors that must keep the CPU
# path's results bit for bit (issue 13); run it on one machine, since results
# may differ between CPUs (see README, "portable").
#   scripts/check_same_results.sh BASE [SHARED_DIR]
# SHARED_DIR defaults to ../shared. Exit 0 when everything is identical.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: $0 BASE [SHARED_DIR]}
shared=$(cd "${2:-../shared}" && pwd)
work=$(mktemp -d /tmp/gptq-same-results.XXXXXX)
trap 'git worktree remove --force "$work/base-tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

build() {  # build DIR: the gptq command of the tree at DIR, built without tests
  (cd "$1" && cmake --preset default -DGPTQ_BUILD_TESTS=OFF -DGPTQ_CUDA=OFF -B "$work/build-$2" >/dev/null &&
    cmake --build "$work/build-$2" -j "$(nproc)" --target gptq-cli >/dev/null)
  echo "$work/build-$2/bin/gptq"
}
git worktree add --detach "$work/base-tree" "$base" >/dev/null
echo "building $base and this tree ($(git describe --always --dirty))"
old=$(build "$work/base-tree" base)
new=$(build "$PWD" head)

# Every option spelled out, so a changed default cannot hide a changed result.
configs=(
  'w4g128 {"bits": 4, "group_size": 128, "desc_act": false, "sym": true}'
  'w4g128-act {"bits": 4, "group_size": 128, "desc_act": true, "sym": true}'
  'w4g128-asym {"bits": 4, "group_size": 128, "desc_act": false, "sym": false}'
  'w3g128 {"bits": 3, "group_size": 128, "desc_act": false, "sym": true}'
)
fixed='"damp_percent": 0.01, "damp_auto_increment": 0.0025, "static_groups": false, "true_sequential": true,
       "checkpoint_format": "gptq", "calibration": {"nsamples": 16, "seqlen": 512, "seed": 0}'
status=0
for model in docs-llama-16m docs-opt-15m; do
  for entry in "${configs[@]}"; do
    name=${entry%% *}
    json=${entry#* }
    echo "${json%\}}, $fixed}" >"$work/$name.json"
    for side in old new; do
      bin=${!side}
      out=$work/$side-$model-$name
      "$bin" quantize "$shared/models/$model" --out "$out" --calib "$shared/data/docs_calib.txt" \
        --config "$work/$name.json" --threads 2 --json >"$out.report.json" 2>"$out.log" ||
        { cat "$out.log"; exit 1; }
      "$bin" eval "$out" --ppl "$shared/data/docs_heldout.txt" --seqlen 512 --max-windows 8 --json 2>/dev/null |
        python3 -c 'import json, sys; print(repr(json.load(sys.stdin)["ppl"]))' >"$out.ppl"
      "$bin" generate "$out" -p "The quantized model" --max-new-tokens 24 --temperature 0 >"$out.text"
    done
    what=()
    for f in "$work/old-$model-$name"/*; do
      cmp -s "$f" "$work/new-$model-$name/$(basename "$f")" || what+=("$(basename "$f")")
    done
    cmp -s "$work/old-$model-$name.ppl" "$work/new-$model-$name.ppl" || what+=("perplexity")
    cmp -s "$work/old-$model-$name.text" "$work/new-$model-$name.text" || what+=("generation")
    if [ ${#what[@]} -eq 0 ]; then
      echo "same: $model $name (ppl $(cat "$work/new-$model-$name.ppl"))"
    else
      echo "DIFFERENT: $model $name: ${what[*]}"; status=1
    fi
  done
done
exit $status

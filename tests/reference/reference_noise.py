#!/usr/bin/env python3
"""How much the reference pipeline's own perplexity moves under a change that
is neutral in exact arithmetic: the same calibration windows fed in reverse
order (every Hessian is the same sum, added up in another order). The result
is the noise floor of the "ours vs reference" column of the accuracy table:
where one reordering moves the reference by more than 1%, so can any other
implementation's rounding.

For each GPTQ row of accuracy_configs.CONFIGS: the reference pipeline
(gptq_pipeline_ref.py) on the windows in libgptq's order and reversed, both
evaluated with accuracy_table.perplexity, on the GPU machine.

    python3 tests/reference/reference_noise.py --model MODEL_DIR --calib docs_calib.txt \\
        --texts wikitext2_test.txt docs_heldout.txt --out noise.json [--rows 4-11]
"""
import argparse
import datetime
import json
import os
import sys
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptq_pipeline_ref as pipeline  # noqa: E402
from accuracy_configs import CONFIGS, table_rows  # noqa: E402
from accuracy_table import perplexity  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--texts", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", default="1-11", help="rows of the table (1-11: CONFIGS in order); RTN rows are skipped")
    a = ap.parse_args()
    wanted = table_rows(a.rows)
    device = "cuda"
    tok = AutoTokenizer.from_pretrained(a.model)
    model_type = AutoConfig.from_pretrained(a.model).model_type
    texts = {os.path.basename(t): tok(open(t, encoding="utf-8").read())["input_ids"] for t in a.texts}
    windows, offsets = pipeline.calibration_windows(tok, [a.calib], a.seqlen, a.nsamples, a.seed)
    orders = {"libgptq order": windows, "reversed": windows.flip(0)}
    mname = os.path.basename(os.path.normpath(a.model))
    rows = []
    for i, (name, method, bits, group, act, sym) in enumerate(CONFIGS, start=1):
        if i not in wanted or method != "gptq":
            continue
        cfg = {"bits": bits, "group_size": group, "desc_act": act, "sym": sym}
        ppl = {}
        for order, w in orders.items():
            model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).to(device).eval()
            pipeline.quantize(model, model_type, w, cfg, device, log=lambda s: None)
            ppl[order] = {t: perplexity(model, ids, a.seqlen, device) for t, ids in texts.items()}
            del model
        for t in texts:
            fwd, rev = ppl["libgptq order"][t], ppl["reversed"][t]
            rows.append({"case": f"{mname} {name} {t} seqlen {a.seqlen}: reference, windows reversed",
                         "unit": "ppl", "ours": rev, "baseline": fwd,
                         "baseline_name": "torch_reference_pipeline (windows in libgptq's order)",
                         "config": name, "text": t, "ratio": rev / fwd})
            print(json.dumps(rows[-1]), flush=True)
        result = {"bench": "reference_noise", "model": mname,
                  "device": f"{torch.cuda.get_device_name(0)} (the reference pipeline, float32, TF32 off)",
                  "commit": os.environ.get("GPTQ_COMMIT", "unknown"),
                  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "command": " ".join(sys.argv),
                  "protocol": {"seqlen": a.seqlen, "calibration": f"{a.nsamples} windows of {a.seqlen} tokens from "
                               f"{os.path.basename(a.calib)}, seed {a.seed}; the same windows reversed"},
                  "torch": torch.__version__, "rows": rows}
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"{time.time() - t0:.0f} s")

#!/usr/bin/env python3
"""The 7B benchmarks' pieces on a tiny shape, through the real binaries
(argv[1] the gptq CLI, argv[2] cuda_generate_bench), so that what the lead
runs on the GPU machine works the first time:
  - bench/make_random_llama.py writes a GPTQ checkpoint (HF format, v1, sym,
    4-bit g128) and a float one that gptq loads: the GPTQ one evaluates with
    a mean NLL near ln(vocab), as random weights of the chosen scale must
    (scales wrong by a factor of 10 give logits that move it by far more),
    and generates; the float one quantizes;
  - the QuantizeReport's phases: all there, none negative, summing to at most
    the run's seconds, and the backend of the calibration forward named;
  - cuda_generate_bench --backend cpu writes its figures, and its theory of
    the repacked weights counts the checkpoint's codes and scales bytes;
  - the two drivers (run_cuda_e2e_bench.py, run_cuda_quantize_7b_bench.py)
    end to end with --backend cpu, writing BENCH.md files.
The tokenizer is ../shared's Mistral one (GPTQ_SHARED_DIR). Numbers are drawn
by numpy here (no torch on the CI machine), by torch on the GPU machine."""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import gptq_cli as cli
from gptq_cli import run

BENCH = None
MAKER = os.path.join(cli.REPO, "bench", "make_random_llama.py")
TEXT = os.path.join(cli.REPO, "demo", "text", "calib.txt")
SHAPE = ["--hidden", "128", "--intermediate", "256", "--layers", "2", "--heads", "2", "--kv-heads", "1"]
PHASES = ["read", "calibration", "forward", "hessian", "solve", "pack", "write", "factor"]


def safetensors_bytes(directory, suffix):
    """Bytes of the tensors whose names end in `suffix`, per block (all blocks summed)."""
    total = 0
    for name in os.listdir(directory):
        if not name.endswith(".safetensors"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        for tensor, t in header.items():
            if tensor.startswith("model.layers.") and tensor.endswith(suffix):
                total += t["data_offsets"][1] - t["data_offsets"][0]
    return total


class RandomLlama(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tokenizer = os.path.dirname(cli.shared("tokenizers/mistral-v0.1/tokenizer.json"))
        cls.work = tempfile.mkdtemp(prefix="random-llama-")
        cls.gptq_dir = os.path.join(cls.work, "gptq")
        cls.float_dir = os.path.join(cls.work, "float")
        for mode, d in (("gptq", cls.gptq_dir), ("float", cls.float_dir)):
            subprocess.run([sys.executable, MAKER, d, "--mode", mode, "--tokenizer", cls.tokenizer, "--device",
                            "numpy", "--shard-mb", "5"] + SHAPE, check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_gptq_checkpoint_loads_evaluates_and_generates(self):
        config = cli.read_json(os.path.join(self.gptq_dir, "config.json"))
        self.assertEqual(config["quantization_config"]["checkpoint_format"], "gptq")
        self.assertGreater(len([f for f in os.listdir(self.gptq_dir) if f.endswith(".safetensors")]), 1)
        p = run("eval", self.gptq_dir, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "2", "--json",
                "--threads", "2", check_rc=0)
        nll = json.loads(p.stdout)["nll"]
        self.assertLess(abs(nll - math.log(32000)), 1.5, f"mean NLL {nll}")
        p = run("generate", self.gptq_dir, "-p", "Hello", "-n", "6", "--temperature", "0", "--ignore-eos",
                "--threads", "2", check_rc=0)
        self.assertTrue(p.stdout.strip(), "generated nothing")

    def test_quantize_report_phases(self):
        out = os.path.join(self.work, "quantized")
        p = run("quantize", self.float_dir, "--out", out, "--calib", TEXT, "--nsamples", "4", "--seqlen", "64",
                "--json", "--threads", "2", check_rc=0)
        report = json.loads(p.stdout)
        self.assertEqual(list(report["phases"]), PHASES)
        self.assertTrue(all(v >= 0 for v in report["phases"].values()), report["phases"])
        self.assertGreater(report["phases"]["solve"], 0)
        self.assertGreater(report["phases"]["factor"], 0)  # the CPU engine times its inverse Cholesky
        self.assertGreater(report["phases"]["forward"], 0)
        self.assertLessEqual(sum(report["phases"].values()), report["seconds"])
        self.assertEqual(report["forward_backend"], "cpu")
        run("eval", out, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "1", "--threads", "2", check_rc=0)

    def test_maker_refuses_what_it_cannot_write(self):
        for extra, message in ((["--vocab", "1000"], "vocabulary must hold"), ([], "exists; give --force")):
            p = subprocess.run([sys.executable, MAKER, self.gptq_dir, "--tokenizer", self.tokenizer] + extra,
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(message, p.stderr)

    def test_generate_bench_on_the_cpu_engine(self):
        out = os.path.join(self.work, "gen.json")
        subprocess.run([BENCH, self.gptq_dir, out, "--backend", "cpu", "--prefill", "32", "--contexts", "8,20",
                        "--steps", "4", "--batches", "3", "--batch-context", "8", "--reps", "2"], check=True,
                       capture_output=True)
        r = cli.read_json(out)
        self.assertGreater(r["prefill"]["tok_s"], 0)
        self.assertEqual([(d["batch"], d["context"]) for d in r["decode"]], [(1, 8), (1, 20), (3, 8)])
        # The same steps with each token chosen by the engine: the CPU engine
        # leaves every choice to the host (warm-up steps included).
        e = r["decode_by_engine"]
        self.assertEqual([(d["batch"], d["context"]) for d in e], [(1, 8), (1, 20), (3, 8)])
        self.assertTrue(all(d["choice"].startswith("engine") and d["tok_s"] > 0 for d in e))
        self.assertEqual([d["left_to_host"] for d in e], [7, 7, 21])
        self.assertTrue(all(d["first_step_s"] > 0 and d["free_cache_s"] >= 0 and d["make_cache_s"] > 0 for d in e))
        self.assertTrue(r["batched_sessions_in_c_api"])
        g = r["generate_batch"]  # gptq_generate_batch's path, ragged prompts
        self.assertEqual([(x["batch"], x["steps"], x["generated"]) for x in g], [(3, 4, 12), (3, 4, 12)])
        # Greedy and top-p, each chosen where the engine chooses (on the CPU:
        # no GPTQ_GPU_SAMPLING=0 row, the CPU engine chooses on the host anyway).
        self.assertEqual([(x["sampling"], x["choice"]) for x in g],
                         [("greedy", "engine"), ("top_p 0.9, temperature 0.8", "engine")])
        self.assertEqual(len(g[0]["prompt_tokens"]), 3)
        self.assertGreater(g[0]["decode_tok_s"], 0)
        self.assertIsNone(r["memory"]["weights_measured"])  # the CPU reports no device memory
        # No padding at this shape: the repacked codes and scales are the checkpoint's.
        block = r["memory"]["weights_theory"]["block_linears_per_layer"]
        self.assertEqual(block["codes"] * 2, safetensors_bytes(self.gptq_dir, ".qweight"))
        self.assertEqual(block["scales"] * 2, safetensors_bytes(self.gptq_dir, ".scales"))
        self.assertEqual(block["zeros"], 0)  # symmetric
        p = subprocess.run([BENCH, self.gptq_dir, out, "--prefill", "99999"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("passes the model's 4096", p.stderr)

    def test_drivers_with_the_cpu_engine(self):
        e2e = os.path.join(self.work, "e2e.json")
        subprocess.run([sys.executable, os.path.join(cli.REPO, "bench", "run_cuda_e2e_bench.py"), "--model",
                        self.gptq_dir, "--bench", BENCH, "--backend", "cpu", "--work", self.work, "--out", e2e,
                        "--prefill", "16", "--contexts", "8,16", "--steps", "3", "--batches", "2",
                        "--batch-context", "4", "--reps", "2", "--no-baseline"], check=True, capture_output=True)
        r = cli.read_json(e2e)
        self.assertIsNone(r["goal"]["met"])  # judged on the 7B shape only
        speed = [x for x in r["rows"] if x["unit"] == "tok/s"]
        # prefill, decode at 2 contexts and batch 2 (logits to the host, then
        # chosen by the engine), generate_batch of 2 (greedy, top-p)
        self.assertEqual(len(speed), 9)
        compared = [x for x in speed if "generate_batch" not in x["case"]]  # the others have no transformers row
        self.assertEqual(len(compared), 7)
        self.assertEqual(r["goal"]["judged_on"], "decode_by_engine")
        self.assertTrue(all(x["baseline"] is None and "--no-baseline" in x["baseline_name"] for x in compared))
        q = os.path.join(self.work, "q7b.json")
        subprocess.run([sys.executable, os.path.join(cli.REPO, "bench", "run_cuda_quantize_7b_bench.py"), "--gptq",
                        cli.GPTQ, "--model", self.float_dir, "--calib", TEXT, "--backend", "cpu", "--work",
                        self.work, "--out", q, "--nsamples", "2", "--seqlen", "32"], check=True, capture_output=True)
        r = cli.read_json(q)
        self.assertEqual(r["forward_backend"], "cpu")
        phases = {x["case"].split("phase ")[1].split(" ")[0]: x["ours"] for x in r["rows"] if ": phase " in x["case"]}
        self.assertEqual(sorted(phases), sorted(PHASES))


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    BENCH = sys.argv.pop(1)
    unittest.main()

#!/usr/bin/env python3
"""Tests of the gptq command through its real binary (path in argv[1])."""
import json
import os
import shutil
import signal
import tempfile
import subprocess
import sys
import unittest

import gptq_cli as cli
from gptq_cli import REPO, run, shared



class Usage(unittest.TestCase):
    def test_help_lists_commands(self):
        p = run("--help", check_rc=0)
        self.assertIn("commands:", p.stdout)
        self.assertIn("config", p.stdout)

    def test_no_command_is_usage_error(self):
        self.assertEqual(run().returncode, 2)

    def test_unknown_command_is_usage_error(self):
        p = run("frobnicate", check_rc=2)
        self.assertIn("unknown command", p.stderr)

    def test_unknown_option_is_usage_error(self):
        p = run("info", "--no-such-flag", check_rc=2)
        self.assertIn("--no-such-flag", p.stderr)

    def test_every_command_has_help(self):
        for cmd in ("info", "config", "inspect", "tokenize", "eval", "generate"):
            p = run(cmd, "--help", check_rc=0)
            self.assertIn(f"usage: gptq {cmd}", p.stdout)


class Info(unittest.TestCase):
    def test_json(self):
        p = run("info", "--json", "--backend", "cpu", check_rc=0)
        info = json.loads(p.stdout)
        self.assertEqual(info["backend"], "cpu")
        self.assertGreater(info["runtime"]["threads"], 0)

    def test_bad_backend_is_runtime_error_with_message(self):
        p = run("info", "--backend", "tpu", check_rc=1)
        self.assertIn("backend", p.stderr)
        self.assertIn("INVALID_ARGUMENT", p.stderr)


class Config(unittest.TestCase):
    def test_defaults(self):
        p = run("config", "quantize", check_rc=0)
        cfg = json.loads(p.stdout)
        # The schema's defaults, GPTQModel's GPTQConfig: 4 bits, group 128, no act-order, damp 0.05.
        self.assertEqual(cfg["bits"], 4)
        self.assertEqual(cfg["group_size"], 128)
        self.assertFalse(cfg["desc_act"])
        self.assertEqual(cfg["damp_percent"], 0.05)

    def test_bad_bits_names_field(self):
        p = run("config", "quantize", '{"bits": 5}', check_rc=1)
        self.assertIn("bits", p.stderr)
        self.assertIn("2, 3, 4, 8", p.stderr)

    def test_unknown_kind_is_usage_error(self):
        run("config", "bogus", check_rc=2)

    def test_eval_defaults(self):
        cfg = json.loads(run("config", "eval", check_rc=0).stdout)
        self.assertEqual(cfg, {"seqlen": 512, "max_windows": 0})

    def test_schema(self):
        p = run("config", "quantize", "--schema", check_rc=0)
        self.assertIn("table QuantizeConfig", p.stdout)


class Inspect(unittest.TestCase):
    def test_text_lists_tensors(self):
        p = run("inspect", shared("models/docs-llama-16m"), check_rc=0)
        self.assertIn("LlamaForCausalLM", p.stdout)
        self.assertIn("model.layers.5.mlp.down_proj.weight", p.stdout)

    def test_json(self):
        p = run("inspect", shared("models/docs-opt-15m"), "--json", check_rc=0)
        info = json.loads(p.stdout)
        self.assertEqual(info["model_type"], "opt")
        self.assertTrue(any(t["name"] == "model.decoder.layers.0.fc1.weight" for t in info["tensors"]))

    def test_missing_dir_is_runtime_error(self):
        p = run("inspect", "/no/such/model", check_rc=1)
        self.assertIn("/no/such/model", p.stderr)

    def test_missing_argument_is_usage_error(self):
        run("inspect", check_rc=2)


class Tokenize(unittest.TestCase):
    def golden(self, model, case):
        src = os.path.join(os.path.dirname(__file__), "..", "data", "tokenizer", f"goldens-{model}.json")
        return json.load(open(src, encoding="utf-8"))["hard_cases"][case]

    def test_ids_match_hf(self):
        text = "To create a table in PostgreSQL, use the CREATE TABLE command."
        for model in ("docs-llama-16m", "docs-opt-15m"):
            p = run("tokenize", shared(f"models/{model}"), "-p", text, "--json", check_rc=0)
            out = json.loads(p.stdout)
            self.assertEqual(out["ids"], self.golden(model, "plain_sentence")["ids"], model)
            self.assertEqual(out["count"], len(out["ids"]))
            p = run("tokenize", shared(f"models/{model}"), "-p", text, "--no-special", check_rc=0)
            self.assertEqual([int(x) for x in p.stdout.split()],
                             self.golden(model, "plain_sentence")["ids_no_special"], model)

    def test_file_input(self):
        p = run("tokenize", shared("models/docs-opt-15m"), "-f", shared("data/docs_calib.txt"), "--json",
                check_rc=0)
        self.assertEqual(json.loads(p.stdout)["count"], 277062)

    def test_needs_exactly_one_text(self):
        run("tokenize", shared("models/docs-opt-15m"), check_rc=2)
        run("tokenize", shared("models/docs-opt-15m"), "-p", "a", "-f", "b", check_rc=2)


class Eval(unittest.TestCase):
    def test_json_has_ppl_windows_tokens(self):
        p = run("eval", shared("models/docs-opt-15m"), "--ppl", shared("data/docs_heldout.txt"),
                "--seqlen", "128", "--max-windows", "2", "--json", check_rc=0)
        out = json.loads(p.stdout)
        self.assertEqual(out["windows"], 2)
        self.assertEqual(out["tokens"], 2 * 127)
        self.assertGreater(out["ppl"], 1.0)
        self.assertLess(out["ppl"], 1000.0)
        self.assertEqual(p.stderr, "")

    def test_text_output_and_progress_on_stderr(self):
        p = run("eval", shared("models/docs-llama-16m"), "--ppl", shared("data/wikitext2_test.txt"),
                "--seqlen", "64", "--max-windows", "2", check_rc=0)
        self.assertIn("perplexity", p.stdout)
        self.assertIn("window 2/2", p.stderr)

    def test_missing_ppl_is_usage_error(self):
        p = run("eval", shared("models/docs-opt-15m"), check_rc=2)
        self.assertIn("--ppl", p.stderr)

    def test_bad_seqlen_names_field(self):
        p = run("eval", shared("models/docs-opt-15m"), "--ppl", shared("data/docs_heldout.txt"),
                "--seqlen", "1", check_rc=1)
        self.assertIn("seqlen", p.stderr)

    def test_missing_file_is_runtime_error(self):
        run("eval", shared("models/docs-opt-15m"), "--ppl", "/no/such/file.txt", check_rc=1)


class Generate(unittest.TestCase):
    PROMPT = "To create a table in PostgreSQL, use the"

    def test_greedy_matches_readme(self):
        p = run("generate", shared("models/docs-llama-16m"), "-p", self.PROMPT, "--temperature", "0",
                "--max-new-tokens", "12", check_rc=0)
        # The continuation keeps the space before its first word (prompt + output reads right).
        self.assertTrue(p.stdout.startswith(" CREATE TABLE command."), p.stdout)

    def test_stop_strings(self):
        p = run("generate", shared("models/docs-llama-16m"), "-p", self.PROMPT, "--temperature", "0",
                "--stop", "xyz", "--stop", " command", check_rc=0)
        self.assertEqual(p.stdout, " CREATE TABLE\n")

    def test_seeded_sampling_repeats(self):
        args = ("generate", shared("models/docs-opt-15m"), "-p", "The", "--temperature", "0.8", "--top-k", "40",
                "--top-p", "0.9", "--repetition-penalty", "1.1", "--seed", "5", "-n", "16")
        self.assertEqual(run(*args, check_rc=0).stdout, run(*args, check_rc=0).stdout)

    def test_usage_errors(self):
        run("generate", shared("models/docs-llama-16m"), check_rc=2)
        run("generate", shared("models/docs-llama-16m"), "-p", "x", "--top-k", "many", check_rc=2)

    def test_bad_value_is_runtime_error_naming_field(self):
        p = run("generate", shared("models/docs-llama-16m"), "-p", "x", "--top-p", "1.5", check_rc=1)
        self.assertIn("top_p", p.stderr)


DEMO = os.path.join(REPO, "demo", "docs-llama-tiny")
DEMO_CALIB = os.path.join(REPO, "demo", "text", "calib.txt")
DEMO_EVAL = os.path.join(REPO, "demo", "text", "eval.txt")


def out_dir(name):
    d = os.path.join(tempfile.gettempdir(), f"gptq_cli_{name}_{os.getpid()}")
    shutil.rmtree(d, ignore_errors=True)
    return d


def ppl(model, text, windows, seqlen):
    p = run("eval", model, "--ppl", text, "--max-windows", str(windows), "--seqlen", str(seqlen), "--json",
            check_rc=0)
    return json.loads(p.stdout)["ppl"]


class Quantize(unittest.TestCase):
    def test_demo_model_end_to_end(self):
        out = out_dir("demo")
        p = run("quantize", DEMO, "--out", out, "--calib", DEMO_CALIB, "--nsamples", "8", "--seqlen", "128",
                "--compare-rtn", "--json", check_rc=0)
        report = json.loads(p.stdout)
        self.assertEqual(len(report["layers"]), 6 * 7)
        for layer in report["layers"]:
            self.assertLess(layer["loss"], layer["rtn_loss"], layer["name"])
        cfg = json.load(open(os.path.join(out, "config.json")))
        q = cfg["quantization_config"]
        self.assertEqual((q["quant_method"], q["bits"], q["group_size"], q["desc_act"], q["sym"]),
                         ("gptq", 4, 128, False, True))
        self.assertEqual(json.load(open(os.path.join(out, "quantize_config.json")))["bits"], 4)
        info = json.loads(run("inspect", out, "--json", check_rc=0).stdout)
        names = {t["name"]: t for t in info["tensors"]}
        qw = names["model.layers.0.mlp.down_proj.qweight"]
        self.assertEqual((qw["dtype"], qw["shape"]), ("I32", [384 * 4 // 32, 128]))
        self.assertEqual(names["model.layers.0.mlp.down_proj.scales"]["shape"], [3, 128])
        self.assertEqual(names["model.layers.0.mlp.down_proj.qzeros"]["shape"], [3, 128 * 4 // 32])
        self.assertEqual(names["model.layers.0.mlp.down_proj.g_idx"]["shape"], [384])
        self.assertEqual(names["lm_head.weight"]["dtype"], "F16")
        # Bound derived from full runs (4-bit g128: +3.5% on eval.txt with 128 x 256
        # calibration); 8 windows of 128 tokens here, so allow 15%.
        fp16, q4 = ppl(DEMO, DEMO_EVAL, 16, 256), ppl(out, DEMO_EVAL, 16, 256)
        self.assertLess(q4, fp16 * 1.15, (fp16, q4))
        g = run("generate", out, "-p", "To create a table in PostgreSQL, use the", "--max-new-tokens", "8",
                "--temperature", "0", check_rc=0)
        self.assertGreater(len(g.stdout.strip()), 0)
        # A second run without --force refuses; with --force it replaces.
        p = run("quantize", DEMO, "--out", out, "--calib", DEMO_CALIB, "--nsamples", "2", "--seqlen", "64",
                check_rc=1)
        self.assertIn(out, p.stderr)
        run("quantize", DEMO, "--out", out, "--calib", DEMO_CALIB, "--nsamples", "2", "--seqlen", "64",
            "--force", "--json", check_rc=0)
        shutil.rmtree(out)

    def test_verbose_says_what_the_library_decided(self):
        # --verbose: the library's log lines of level info on stderr, here the
        # chunks a forced chunk size makes (core/pipeline/calibration_chunks.h);
        # stdout keeps the report alone. Without it, none.
        out = out_dir("verbose")
        args = ("quantize", DEMO, "--out", out, "--calib", DEMO_CALIB, "--nsamples", "2", "--seqlen", "64",
                "--backend", "cpu", "--force", "--json")
        os.environ["GPTQ_CALIBRATION_CHUNK_WINDOWS"] = "1"
        try:
            loud = run(*args, "--verbose", check_rc=0)
            quiet = run(*args, check_rc=0)
        finally:
            del os.environ["GPTQ_CALIBRATION_CHUNK_WINDOWS"]
        self.assertIn("quantize: 2 calibration windows of 64 tokens", loud.stderr)
        self.assertIn("GPTQ_CALIBRATION_CHUNK_WINDOWS=1", loud.stderr)
        self.assertEqual(json.loads(loud.stdout)["config"]["calibration"]["nsamples"], 2)
        self.assertNotIn("calibration windows", quiet.stderr)
        shutil.rmtree(out)

    def test_cancelled_run_leaves_nothing(self):
        out = out_dir("cancel")
        proc = subprocess.Popen([cli.GPTQ, "quantize", DEMO, "--out", out, "--calib", DEMO_CALIB,
                                 "--nsamples", "64", "--seqlen", "256"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The first progress line (after the line naming the backend): the
        # pipeline runs, and the interrupt handler is in place.
        while proc.stderr.readline().startswith("backend:"):
            pass
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("CANCELLED", err)
        self.assertFalse(os.path.exists(out))
        parent = os.path.dirname(out)
        self.assertEqual([f for f in os.listdir(parent) if f.startswith(os.path.basename(out))], [])

    def test_rtn_method(self):
        # Round-to-nearest needs no calibration, and every stored weight lies within
        # half a grid step of the float weight (what GPTQ's error feedback breaks).
        sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
        import numpy as np
        import load_gptq_checkpoint as ckpt
        out = out_dir("rtn")
        report = json.loads(run("quantize", DEMO, "--out", out, "--method", "rtn", "--bits", "3",
                                "--act-order", "--json", check_rc=0).stdout)
        self.assertEqual(report["config"]["method"], "rtn")
        self.assertEqual(len(report["layers"]), 6 * 7)
        self.assertTrue(all(layer["loss"] == -1 for layer in report["layers"]))
        _, q, state, prefixes = ckpt.dequantized_state(out)
        self.assertEqual((q["bits"], q["group_size"], q["desc_act"]), (3, 128, False))
        src = ckpt.read_checkpoint(DEMO)
        scales = ckpt.read_checkpoint(out)
        for p in prefixes:
            w, deq = src[p + ".weight"].astype(np.float32), state[p + ".weight"]
            step = np.repeat(scales[p + ".scales"].astype(np.float32).T, 128, axis=1)
            # half a step, plus the fp16 rounding of the stored scale over 7 steps
            self.assertTrue(np.all(np.abs(w - deq) <= step * (0.5 + 4 * 2.0 ** -11) + 1e-7), p)
        self.assertLess(ppl(out, DEMO_EVAL, 8, 256), 2 * ppl(DEMO, DEMO_EVAL, 8, 256))
        run("quantize", DEMO, "--out", out_dir("u"), "--method", "awq", check_rc=2)
        shutil.rmtree(out)

    def test_usage_errors(self):
        run("quantize", DEMO, "--calib", DEMO_CALIB, check_rc=2)            # no --out
        run("quantize", DEMO, "--out", out_dir("u"), check_rc=2)            # no --calib
        run("quantize", DEMO, "--out", out_dir("u"), "--calib", DEMO_CALIB, "--sym", "--asym", check_rc=2)
        p = run("quantize", DEMO, "--out", out_dir("u"), "--calib", DEMO_CALIB, "--bits", "5", check_rc=1)
        self.assertIn("bits", p.stderr)


@unittest.skipIf(cli.sanitized(),
                 "whole-model quantization of the shared models runs in the unsanitized preset only")
class QuantizeSharedModels(unittest.TestCase):
    # Bounds derived from a run of this very setting (16 x 512 calibration windows of
    # docs_calib.txt, 4-bit g128, 8 eval windows): perplexity rose 2.4-5.3%; allow 10%.
    def test_both_models(self):
        for model in ("docs-llama-16m", "docs-opt-15m"):
            src = shared(f"models/{model}")
            out = out_dir(model)
            p = run("quantize", src, "--out", out, "--calib", shared("data/docs_calib.txt"),
                    "--nsamples", "16", "--seqlen", "512", "--compare-rtn", "--json", check_rc=0)
            report = json.loads(p.stdout)
            self.assertEqual(len(report["layers"]), 6 * (7 if "llama" in model else 6))
            for layer in report["layers"]:
                self.assertLess(layer["loss"], layer["rtn_loss"], (model, layer["name"]))
            for text in ("data/docs_heldout.txt", "data/wikitext2_test.txt"):
                fp16 = ppl(src, shared(text), 8, 512)
                q4 = ppl(out, shared(text), 8, 512)
                self.assertLess(q4, fp16 * 1.10, (model, text, fp16, q4))
                self.assertGreater(q4, fp16 * 0.98, (model, text, fp16, q4))
            shutil.rmtree(out)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Broken model files through the real gptq binary (path in argv[1]): each is
refused with exit 1 and a message naming the file or tensor, before any long
work for quantize (GPTQ and RTN alike), and never turns into a perplexity of
nan, garbage text or a broken checkpoint with exit 0."""
import os
import re
import sys
import unittest

import numpy as np

import gptq_cli as cli
import model_dirs as md

LLAMA = "models/docs-llama-16m"
CALIB = "data/docs_calib.txt"
TEXT = "data/docs_heldout.txt"
LAST = "model.layers.5"  # the last of docs-llama-16m's 6 blocks
PROGRESS_BAR = re.compile(r"\[[#.]{10,}\]")  # the CLI's progress lines on stderr


class BrokenFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dirs = md.TempDirs("model_files")
        cls.src = cli.shared(LLAMA)
        cls.tensors = md.read_checkpoint(cls.src)

    @classmethod
    def tearDownClass(cls):
        cls.dirs.cleanup()

    def model(self, name, tensors=None, shards=None):
        """A copy of the llama with these tensors (default: its own)."""
        d = self.dirs.new(name, self.src)
        tensors = self.tensors if tensors is None else tensors
        if shards:
            md.write_sharded(d, tensors, shards)
        else:
            md.write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        return d

    def changed(self, **edits):
        """The llama's tensors with some replaced (a value of None removes one)."""
        t = dict(self.tensors)
        for name, value in edits.items():
            name = name.replace("__", ".")
            if value is None:
                del t[name]
            else:
                t[name] = value
        return t

    def out(self, name):
        return os.path.join(self.dirs.root, name + ".out")

    def quantize(self, model, method, out):
        args = ["quantize", model, "--out", out]
        if method == "rtn":
            args += ["--method", "rtn"]
        else:
            args += ["--calib", cli.shared(CALIB), "--nsamples", "2", "--seqlen", "64"]
        return cli.run(*args)

    def refused_before_work(self, model, method, *expect):
        out = self.out(os.path.basename(model) + "_" + method)
        p = self.quantize(model, method, out)
        self.assertEqual(p.returncode, 1, p.stderr)
        for e in expect:
            self.assertIn(e, p.stderr)
        self.assertIsNone(PROGRESS_BAR.search(p.stderr), p.stderr)  # nothing was started
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.dirs.root) if f.startswith(os.path.basename(out))], [])

    def test_missing_tensor_in_the_last_block(self):
        name = LAST + ".mlp.down_proj.weight"
        d = self.model("missing", self.changed(**{name.replace(".", "__"): None}))
        for method in ("gptq", "rtn"):
            self.refused_before_work(d, method, name, "missing")

    def test_wrong_shape_of_a_tensor_rtn_never_loads(self):
        # RTN reads only the block linears; the embeddings went to the output as they were.
        emb = self.tensors["model.embed_tokens.weight"]
        d = self.model("shape", self.changed(model__embed_tokens__weight=emb[:-1]))
        for method in ("rtn", "gptq"):
            self.refused_before_work(d, method, "model.embed_tokens.weight", "[8191, 384]", "[8192, 384]")

    def test_wrong_dtype(self):
        norm = LAST + ".post_attention_layernorm.weight"
        d = self.model("dtype", self.changed(**{norm.replace(".", "__"): np.ones(384, np.int32)}))
        self.refused_before_work(d, "rtn", norm, "I32")

    def test_broken_last_shard(self):
        d = self.model("shard", shards=3)
        last = os.path.join(d, "model-00003-of-00003.safetensors")
        with open(last, "r+b") as f:
            f.truncate(os.path.getsize(last) - 100)
        for method in ("gptq", "rtn"):
            self.refused_before_work(d, method, "model-00003-of-00003.safetensors")

    def test_weight_and_qweight_in_one_layer(self):
        layer = LAST + ".self_attn.o_proj"
        t = dict(self.tensors)
        t[layer + ".qweight"] = np.zeros((384 * 4 // 32, 384), np.int32)
        d = self.model("both", t)
        self.refused_before_work(d, "rtn", layer + ".weight", layer + ".qweight")
        p = cli.run("eval", d, "--ppl", cli.shared(TEXT), "--seqlen", "32", "--max-windows", "1", check_rc=1)
        self.assertIn(layer + ".weight", p.stderr)
        self.assertIn(layer + ".qweight", p.stderr)

    def test_nan_and_inf_in_float_weights(self):
        name = LAST + ".mlp.gate_proj.weight"
        for bad, word in ((np.nan, "NaN"), (np.inf, "infinity")):
            w = self.tensors[name].copy()
            w[3, 17] = bad
            d = self.model(f"float_{word}", self.changed(**{name.replace(".", "__"): w}))
            commands = [["eval", d, "--ppl", cli.shared(TEXT), "--seqlen", "32", "--max-windows", "1"],
                        ["generate", d, "-p", "To create a table", "--max-new-tokens", "2"],
                        ["quantize", d, "--out", self.out(f"nan_{word}"), "--method", "rtn"]]
            if cli.sanitized() and word != "NaN":
                commands = commands[:1]  # each command loads the whole model: seconds under ASan
            for args in commands:
                p = cli.run(*args, check_rc=1)
                self.assertIn(name, p.stderr, args[0])
                self.assertIn(word, p.stderr, args[0])
                self.assertIn("element 1169 [3, 17]", p.stderr, args[0])  # 3 * 384 + 17
            self.assertFalse(os.path.exists(self.out(f"nan_{word}")))

    def test_nan_and_inf_in_gptq_scales(self):
        ckpt = self.out("rtn_ok")
        cli.run("quantize", self.src, "--out", ckpt, "--method", "rtn", "--bits", "4", "--group-size", "128",
               check_rc=0)
        scales = LAST + ".self_attn.q_proj.scales"
        t = md.read_checkpoint(ckpt)
        for bad, word in ((np.nan, "NaN"), (-np.inf, "infinity")):
            s = t[scales].copy()
            s[2, 5] = bad
            d = self.dirs.new(f"scales_{word}", ckpt, files=("config.json", "quantize_config.json", "tokenizer.json"))
            md.write_safetensors(os.path.join(d, "model.safetensors"), dict(t, **{scales: s}))
            p = cli.run("eval", d, "--ppl", cli.shared(TEXT), "--seqlen", "32", "--max-windows", "1", check_rc=1)
            self.assertIn(scales, p.stderr)
            self.assertIn(word, p.stderr)
            self.assertIn("element 773 [2, 5]", p.stderr)  # 2 * 384 + 5


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""gptq tokenize through its real binary (path in argv[1]): a model directory, a
tokenizer-only directory and a tokenizer.json file all work, with HF's ids; errors
say why, with exit 1."""
import json
import os
import sys
import tempfile
import unittest

import gptq_cli as cli
from gptq_cli import run, shared

HERE = os.path.dirname(os.path.abspath(__file__))


def golden(family, case):
    with open(os.path.join(HERE, "..", "data", "tokenizer", "real_vocab_goldens.json"), encoding="utf-8") as f:
        return json.load(f)["families"][family]["cases"][case]


def case_text(case):
    with open(os.path.join(HERE, "..", "data", "tokenizer", "real_vocab_cases.json"), encoding="utf-8") as f:
        return next(c["text"] for c in json.load(f) if c["name"] == case)


class TokenizerPaths(unittest.TestCase):
    def test_tokenizer_directory_file_and_model_directory(self):
        text = case_text("contractions_cases")
        for family in ("llama3", "qwen2.5", "mistral-v0.1", "phi3-mini", "gpt2"):
            want = golden(family, "contractions_cases")
            for path in (shared(f"tokenizers/{family}"), shared(f"tokenizers/{family}/tokenizer.json")):
                out = json.loads(run("tokenize", path, "-p", text, "--json", check_rc=0).stdout)
                self.assertEqual(out["ids"], want["ids"], (family, path))
                plain = run("tokenize", path, "-p", text, "--no-special", check_rc=0).stdout.split()
                self.assertEqual([int(x) for x in plain], want["ids_no_special"] or want["ids"], (family, path))
        # A model directory: its tokenizer alone, no weights read.
        p = run("tokenize", shared("models/docs-opt-15m"), "-p", "hello world", "--json", check_rc=0)
        self.assertGreater(json.loads(p.stdout)["count"], 1)

    def test_file_input_bytes_as_they_are(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.txt")
            with open(path, "wb") as f:
                f.write(b"caf\xc3\xa9 \xff end")  # invalid UTF-8 is repaired, as HF's errors="replace"
            p = run("tokenize", shared("tokenizers/gpt2"), "-f", path, "--json", check_rc=0)
            repaired = run("tokenize", shared("tokenizers/gpt2"), "-p", "caf\u00e9 \ufffd end", "--json",
                           check_rc=0)
            self.assertEqual(json.loads(p.stdout)["ids"], json.loads(repaired.stdout)["ids"])


class TokenizerErrors(unittest.TestCase):
    def test_missing_path_says_why(self):
        p = run("tokenize", "/no/such/tokenizer.json", "-p", "a", check_rc=1)
        self.assertIn("/no/such/tokenizer.json: cannot open: No such file or directory", p.stderr)
        self.assertIn("IO", p.stderr)

    def test_directory_without_tokenizer_json(self):
        with tempfile.TemporaryDirectory() as d:
            p = run("tokenize", d, "-p", "a", check_rc=1)
            self.assertIn(os.path.join(d, "tokenizer.json") + ": cannot open: No such file or directory", p.stderr)

    def test_not_a_regular_file(self):
        with tempfile.TemporaryDirectory() as d:
            fifo = os.path.join(d, "tokenizer.json")
            os.mkfifo(fifo)
            for path in (d, fifo):
                p = run("tokenize", path, "-p", "a", check_rc=1)
                self.assertIn(fifo + ": not a regular file", p.stderr)

    def test_malformed_and_unsupported(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tokenizer.json")
            with open(path, "w") as f:
                f.write('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}}')
            p = run("tokenize", path, "-p", "a", check_rc=1)
            self.assertIn("FORMAT", p.stderr)
            self.assertIn("$.model.merges[0]", p.stderr)
            with open(path, "w") as f:
                f.write('{"model": {"unk_token": "[UNK]", "vocab": {"[UNK]": 0}}}')
            p = run("tokenize", path, "-p", "a", check_rc=1)
            self.assertIn("UNSUPPORTED", p.stderr)
            self.assertIn("WordLevel", p.stderr)

    def test_needs_exactly_one_text(self):
        run("tokenize", shared("tokenizers/gpt2"), check_rc=2)
        run("tokenize", shared("tokenizers/gpt2"), "-p", "a", "-f", "b", check_rc=2)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""gptq generate/eval/quantize --backend through the real binary (path in
argv[1]): a name outside auto|cpu|cuda is a usage error; cpu runs on the CPU;
auto (the default) takes the GPU when one is usable and says on stderr
which it took; cuda runs on the GPU where one is usable (the same greedy text as the CPU, the
perplexity within 0.3%, a checkpoint quantized there within 0.5% of the CPU's
in perplexity, the reports naming the backend) and fails with the library's
reason where none is."""
import json
import os
import sys
import tempfile
import unittest

import gptq_cli as cli
from gptq_cli import run

DEMO = os.path.join(cli.REPO, "demo", "docs-llama-tiny")
TEXT = os.path.join(cli.REPO, "demo", "text", "eval.txt")
EVAL = ("eval", DEMO, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "3", "--json")
GENERATE = ("generate", DEMO, "-p", "The model", "-n", "24", "--temperature", "0", "--ignore-eos")
CALIB = os.path.join(cli.REPO, "demo", "text", "calib.txt")


def quantize(out, backend):
    return run("quantize", DEMO, "--out", out, "--calib", CALIB, "--nsamples", "16", "--seqlen", "128",
               "--backend", backend, "--json", check_rc=None)


def gpu_usable():
    return run("info", "--backend", "cuda", "--json").returncode == 0


class BackendOption(unittest.TestCase):
    def test_unknown_backend_is_usage_error(self):
        for cmd in (EVAL, GENERATE, ("quantize", DEMO, "--out", "/nonexistent/x", "--calib", CALIB)):
            p = run(*cmd, "--backend", "tpu", check_rc=2)
            self.assertIn("--backend expects one of auto, cpu, cuda (got 'tpu')", p.stderr)

    def test_cpu_runs_on_the_cpu(self):
        report = json.loads(run(*EVAL, "--backend", "cpu", check_rc=0).stdout)
        self.assertEqual(report["backend"], "cpu")

    def test_default_is_auto_and_says_where_it_runs(self):
        usable = gpu_usable()
        for cmd in (EVAL[:-1], GENERATE):
            p = run(*cmd, check_rc=0)
            if usable:
                self.assertRegex(p.stderr, r"(?m)^backend: cuda \(.+\)$")
            else:
                self.assertRegex(p.stderr, r"(?m)^backend: cpu \(.+\); auto found no usable CUDA device")
        # --json: the report names the backend; stderr stays quiet.
        p = run(*EVAL, check_rc=0)
        self.assertEqual(json.loads(p.stdout)["backend"], "cuda" if usable else "cpu")
        self.assertNotIn("backend:", p.stderr)
        with tempfile.TemporaryDirectory() as work:
            p = run("quantize", DEMO, "--out", os.path.join(work, "q"), "--method", "rtn", check_rc=0)
            self.assertIn("backend: cuda" if usable else "backend: cpu", p.stderr)
        # A backend the user named is not second-guessed: no fallback note.
        p = run(*EVAL[:-1], "--backend", "cpu", check_rc=0)
        self.assertRegex(p.stderr, r"(?m)^backend: cpu \(.*\)$")
        self.assertNotIn("auto found", p.stderr)

    def test_cuda_runs_on_the_gpu_or_says_why_not(self):
        if not gpu_usable():
            for cmd in (EVAL, GENERATE):
                p = run(*cmd, "--backend", "cuda", check_rc=1)
                self.assertIn("cuda", p.stderr)
            return
        cpu = json.loads(run(*EVAL, "--backend", "cpu", check_rc=0).stdout)
        gpu = json.loads(run(*EVAL, "--backend", "cuda", check_rc=0).stdout)
        self.assertEqual(gpu["backend"], "cuda")
        self.assertAlmostEqual(gpu["ppl"] / cpu["ppl"], 1.0, delta=0.003)
        cpu_text = run(*GENERATE, "--backend", "cpu", check_rc=0).stdout
        gpu_text = run(*GENERATE, "--backend", "cuda", check_rc=0).stdout
        self.assertEqual(gpu_text, cpu_text)
        print("\ncpu ppl %.6f, cuda ppl %.6f; greedy text: %r" % (cpu["ppl"], gpu["ppl"], gpu_text), file=sys.stderr)

    def test_quantize_on_the_gpu_or_says_why_not(self):
        with tempfile.TemporaryDirectory() as work:
            if not gpu_usable():
                p = quantize(os.path.join(work, "gpu"), "cuda")
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("cuda", p.stderr)
                self.assertFalse(os.path.exists(os.path.join(work, "gpu")))
                return
            ppl = {}
            for backend in ("cpu", "cuda"):
                out = os.path.join(work, backend)
                p = quantize(out, backend)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(json.loads(p.stdout)["backend"], backend)
                ppl[backend] = json.loads(run("eval", out, "--ppl", TEXT, "--seqlen", "64", "--json",
                                              check_rc=0).stdout)["ppl"]
            self.assertAlmostEqual(ppl["cuda"] / ppl["cpu"], 1.0, delta=0.005)
            print("\nquantized on cpu: ppl %.6f, on cuda: ppl %.6f" % (ppl["cpu"], ppl["cuda"]), file=sys.stderr)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main()

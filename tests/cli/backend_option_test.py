#!/usr/bin/env python3
"""gptq generate/eval --backend through the real binary (path in argv[1]):
a name outside auto|cpu|cuda is a usage error; cpu runs on the CPU; cuda
runs on the GPU where one is usable (the same greedy text as the CPU, the
perplexity within 0.3%, the report naming the backend) and fails with the
library's reason where none is."""
import json
import os
import sys
import unittest

import gptq_cli as cli
from gptq_cli import run

DEMO = os.path.join(cli.REPO, "demo", "docs-llama-tiny")
TEXT = os.path.join(cli.REPO, "demo", "text", "eval.txt")
EVAL = ("eval", DEMO, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "3", "--json")
GENERATE = ("generate", DEMO, "-p", "The model", "-n", "24", "--temperature", "0", "--ignore-eos")


def gpu_usable():
    return run("info", "--backend", "cuda", "--json").returncode == 0


class BackendOption(unittest.TestCase):
    def test_unknown_backend_is_usage_error(self):
        for cmd in (EVAL, GENERATE):
            p = run(*cmd, "--backend", "tpu", check_rc=2)
            self.assertIn("--backend expects one of auto, cpu, cuda (got 'tpu')", p.stderr)

    def test_cpu_runs_on_the_cpu(self):
        report = json.loads(run(*EVAL, "--backend", "cpu", check_rc=0).stdout)
        self.assertEqual(report["backend"], "cpu")

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


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main()

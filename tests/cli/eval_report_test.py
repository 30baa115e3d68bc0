#!/usr/bin/env python3
"""gptq eval --json through its real binary (path in argv[1]): stdout is the
library's EvalReport exactly (the fields of schema/gptq.fbs, nothing added),
and the text output says the same numbers."""
import json
import os
import re
import sys
import unittest

import gptq_cli as cli
from gptq_cli import run

DEMO = os.path.join(cli.REPO, "demo", "docs-llama-tiny")
TEXT = os.path.join(cli.REPO, "demo", "text", "eval.txt")


def schema_fields(table):
    """The field names of a table of schema/gptq.fbs, in order."""
    with open(os.path.join(cli.REPO, "schema", "gptq.fbs"), encoding="utf-8") as f:
        body = re.search(r"\ntable %s \{(.*?)\n\}" % table, f.read(), re.S).group(1)
    return [m.group(1) for m in re.finditer(r"^\s*(\w+)\s*:", body, re.M)]


class EvalReport(unittest.TestCase):
    def test_json_is_the_eval_report(self):
        p = run("eval", DEMO, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "3", "--json", "--threads", "2",
                check_rc=0)
        self.assertEqual(p.stderr, "")
        report = json.loads(p.stdout)
        self.assertEqual(list(report), schema_fields("EvalReport"))
        self.assertEqual(report["config"], {"seqlen": 64, "max_windows": 3})
        self.assertEqual(report["windows"], 3)
        self.assertEqual(report["tokens"], 3 * 63)
        self.assertGreaterEqual(report["text_tokens"], 3 * 64)
        self.assertEqual(len(report["window_nll"]), 3)
        self.assertEqual(report["backend"], "cpu")
        self.assertGreater(report["ppl"], 1.0)

    def test_text_output_has_the_reports_numbers(self):
        report = json.loads(run("eval", DEMO, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "2", "--json",
                                check_rc=0).stdout)
        p = run("eval", DEMO, "--ppl", TEXT, "--seqlen", "64", "--max-windows", "2", check_rc=0)
        self.assertIn("perplexity %.4f (2 windows, 126 tokens)" % report["ppl"], p.stdout)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main()

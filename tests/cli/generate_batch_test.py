#!/usr/bin/env python3
"""gptq generate with several -p through the real binary (path in argv[1]):
the prompts are generated as one batch (gptq_generate_batch) and each text is
printed whole, on a line starting with its prompt's index, once all are done;
each equals what the prompt gives alone; one prompt still streams as before;
a prompt the model cannot take fails the whole batch with the library's
message."""
import sys
import unittest

import gptq_cli as cli
from gptq_cli import run, shared

# The prompts of tests/core/eval/generate_test.cpp's GenerateBatch (ragged: 11,
# 4 and 21 tokens), which checks that their greedy continuations have no
# near-tie: a batched pass cannot flip a token of them, on any CPU.
PROMPTS = ("To create a table in PostgreSQL, use the", "SELECT",
           "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on")
# The CPU engine: gptq_generate_batch's reference, whatever GPU the machine has.
GREEDY = ("--temperature", "0", "-n", "8", "--backend", "cpu", "--threads", "2")


def generate(*prompts, extra=(), check_rc=0):
    args = [a for p in prompts for a in ("-p", p)]
    return run("generate", shared("models/docs-llama-16m"), *args, *GREEDY, *extra, check_rc=check_rc)


class GenerateBatch(unittest.TestCase):
    def alone(self, prompt, extra=()):
        out = generate(prompt, extra=extra).stdout
        self.assertTrue(out.endswith("\n"), out)
        return out[:-1]  # the newline gptq generate ends its stream with

    def test_each_sequence_is_its_prompt_alone_labelled_by_index(self):
        alone = [self.alone(p) for p in PROMPTS]
        self.assertTrue(all(alone), alone)
        self.assertFalse(alone[0].startswith("[0]"), "one prompt streams, unlabelled: " + alone[0])
        batch = generate(*PROMPTS)
        self.assertEqual(batch.stdout, "".join(f"[{i}] {t}\n" for i, t in enumerate(alone)))

    def test_stop_strings_end_each_sequence_on_its_own(self):
        stop = ("--stop", " command")
        alone = [self.alone(p, stop) for p in PROMPTS]
        self.assertEqual(alone[0], " CREATE TABLE")  # cut by the stop string; the others are not
        self.assertEqual(generate(*PROMPTS, extra=stop).stdout,
                         "".join(f"[{i}] {t}\n" for i, t in enumerate(alone)))

    def test_a_prompt_too_long_fails_the_batch_with_the_librarys_message(self):
        p = generate(PROMPTS[0], "word " * 5000, check_rc=1)
        self.assertIn("gptq: error (INVALID_ARGUMENT): ", p.stderr)
        # Refused before anything runs, naming the prompt and the model's context.
        self.assertIn("prompt 1 has", p.stderr)
        self.assertIn("context of 2048 positions", p.stderr)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main()

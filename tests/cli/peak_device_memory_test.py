#!/usr/bin/env python3
"""gptq quantize reports the peak device memory of the backend's own
allocations (QuantizeReport.peak_device_bytes), through the real binary
(argv[1]) on a backend plugin built in the tests (argv[2]: the fake plugin of
tests/core/backend in its "blocks" mode, which runs the calibration forward
in buffers it counts as device memory): --json carries it (0 on the CPU) and
the human report says it after the peak resident memory."""
import json
import os
import sys
import tempfile
import unittest

import gptq_cli as cli
from gptq_cli import run

DEMO = os.path.join(cli.REPO, "demo", "docs-llama-tiny")
CALIB = os.path.join(cli.REPO, "demo", "text", "calib.txt")
FAKE_PLUGIN = None
NSAMPLES, SEQLEN = 4, 32


class PeakDeviceMemory(unittest.TestCase):
    def setUp(self):
        self.saved = {k: os.environ.get(k) for k in ("GPTQ_CUDA_PLUGIN", "GPTQ_FAKE_PLUGIN_MODE")}
        os.environ["GPTQ_CUDA_PLUGIN"] = FAKE_PLUGIN
        os.environ["GPTQ_FAKE_PLUGIN_MODE"] = "blocks"
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def quantize(self, backend, *extra):
        out = os.path.join(self.tmp.name, f"out-{backend}-{len(extra)}")
        return run("quantize", DEMO, "--out", out, "--calib", CALIB, "--nsamples", str(NSAMPLES), "--seqlen",
                   str(SEQLEN), "--backend", backend, *extra, check_rc=0)

    def test_json_report_has_the_devices_peak(self):
        hidden = cli.read_json(os.path.join(DEMO, "config.json"))["hidden_size"]
        cuda = json.loads(self.quantize("cuda", "--json").stdout)
        self.assertEqual(cuda["forward_backend"], "cuda")
        # At least the hidden state of every calibration window, in fp32.
        self.assertGreaterEqual(cuda["peak_device_bytes"], NSAMPLES * SEQLEN * hidden * 4)
        cpu = json.loads(self.quantize("cpu", "--json").stdout)
        self.assertEqual(cpu["peak_device_bytes"], 0)

    def test_human_report_says_it(self):
        self.assertRegex(self.quantize("cuda").stdout, r"peak memory [0-9.]+ MB, peak device memory [0-9.]+ MB\n")
        self.assertNotIn("peak device memory", self.quantize("cpu").stdout)


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    FAKE_PLUGIN = sys.argv.pop(1)
    unittest.main()

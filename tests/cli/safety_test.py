#!/usr/bin/env python3
"""The gptq command tried as a careless or hostile user would (issue 12): no data
lost, no abort, no hang, no silent substitution. Through the real binary (argv[1])
on the repo's demo model (demo/docs-llama-tiny: 512 positions, seconds per run)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import gptq_cli as cli
from gptq_cli import REPO, read_json, run

DEMO = os.path.join(REPO, "demo", "docs-llama-tiny")
CALIB = os.path.join(REPO, "demo", "text", "calib.txt")
FAST = ("--nsamples", "2", "--seqlen", "64")


def tree(path):
    """Every file under path with its bytes, to prove nothing changed."""
    out = {}
    for root, dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, path)] = read_bytes(p)
        out.update({os.path.relpath(os.path.join(root, d), path) + "/": b"" for d in dirs})
    return out


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def staging_dirs(out):
    parent, base = os.path.split(out)
    return sorted(os.path.join(parent, f) for f in os.listdir(parent) if f.startswith(base + ".tmp-"))


def wait_for(predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class TempCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gptq_safety_")
        self.immutable = []  # files a test made undeletable (chattr +i)
        self.fifos = 0
        self.addCleanup(self.cleanup)

    def cleanup(self):
        for p in self.immutable:
            subprocess.run(["chattr", "-i", p], capture_output=True)
        for root, dirs, _ in os.walk(self.tmp):
            for d in dirs:  # undo a chmod a test left
                if not os.path.islink(os.path.join(root, d)):
                    os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def model_copy(self, *parts):
        dst = self.path(*parts)
        shutil.copytree(DEMO, dst)
        return dst


class DataLoss(TempCase):
    """--force replaces only a checkpoint libgptq wrote, or an empty directory."""

    def test_out_holding_the_model_is_refused_and_nothing_is_touched(self):
        model = self.model_copy("parent", "m")
        with open(self.path("parent", "notes.txt"), "w") as f:
            f.write("mine")
        before = tree(self.path("parent"))
        for method in (("--calib", CALIB, *FAST), ("--method", "rtn")):
            p = run("quantize", model, "--out", self.path("parent"), "--force", *method, check_rc=1)
            self.assertIn("contains the source model's directory", p.stderr)
        self.assertEqual(tree(self.path("parent")), before)
        self.assertEqual(os.listdir(self.tmp), ["parent"])

    def test_unrelated_directory_is_not_wiped(self):
        os.mkdir(self.path("photos"))
        with open(self.path("photos", "cat.jpg"), "wb") as f:
            f.write(b"\xff\xd8 precious")
        p = run("quantize", DEMO, "--out", self.path("photos"), "--force", "--method", "rtn", check_rc=1)
        self.assertIn("refusing to replace", p.stderr)
        self.assertIn("cat.jpg, a file libgptq does not write", p.stderr)
        self.assertEqual(tree(self.path("photos")), {"cat.jpg": b"\xff\xd8 precious"})
        # A subdirectory, or a float model with our file names, is not ours either.
        os.remove(self.path("photos", "cat.jpg"))
        os.mkdir(self.path("photos", "2024"))
        p = run("quantize", DEMO, "--out", self.path("photos"), "--force", "--method", "rtn", check_rc=1)
        self.assertIn("2024, which is a directory", p.stderr)
        float_model = self.model_copy("float")
        p = run("quantize", DEMO, "--out", float_model, "--force", "--method", "rtn", check_rc=1)
        self.assertIn("refusing to replace", p.stderr)
        self.assertEqual(tree(float_model), tree(DEMO))

    def test_every_path_is_checked_before_any_work(self):
        model = self.model_copy("parent", "m")
        os.makedirs(self.path("work", "sub"))
        os.symlink(self.path("parent"), self.path("link_to_parent"))
        before = tree(self.tmp)
        cases = [
            (model, "is the source model's directory"),
            (os.path.join(model, "q"), "lies inside the source model's directory"),
            (os.path.join(model, ".."), "contains the source model's directory"),
            (self.path("link_to_parent"), "contains the source model's directory"),
            ("/", "root directory"),
            ("//", "root directory"),
            (".", "holds the current working directory"),
            ("..", "holds the current working directory"),
            (self.path("work"), "holds the current working directory"),
            ("", "empty path"),
        ]
        for out, message in cases:
            with self.subTest(out=out):
                start = time.monotonic()
                p = run("quantize", model, "--out", out, "--force", "--calib", CALIB, *FAST, check_rc=1,
                        cwd=self.path("work", "sub"), timeout=30)
                self.assertIn(message, p.stderr)
                self.assertNotIn("quantize ", p.stderr)  # refused before the pipeline started
                self.assertLess(time.monotonic() - start, 20)
        self.assertEqual(tree(self.tmp), before)
        # "/" without --force does not hang either (it looped in the staging code).
        run("quantize", DEMO, "--out", "/", "--method", "rtn", check_rc=1, timeout=30)

    def test_replaces_an_empty_directory_and_its_own_checkpoint(self):
        out = self.path("q")
        os.mkdir(out)
        run("quantize", DEMO, "--out", out, "--force", "--method", "rtn", "--json", check_rc=0)
        q = read_json(os.path.join(out, "quantize_config.json"))
        self.assertTrue(q["meta"]["quantizer"][0].startswith("libgptq:"), q)
        self.assertEqual(read_json(os.path.join(out, "config.json"))["quantization_config"]["meta"],
                         q["meta"])
        run("quantize", DEMO, "--out", out, "--force", "--calib", CALIB, *FAST, "--json", check_rc=0)
        with open(os.path.join(out, "README.md"), "w") as f:
            f.write("my notes")
        p = run("quantize", DEMO, "--out", out, "--force", "--method", "rtn", check_rc=1)
        self.assertIn("README.md, a file libgptq does not write", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "README.md")))
        self.assertEqual(staging_dirs(out), [])


class StaleStaging(TempCase):
    """What a killed run leaves is found by the next run into the same place."""

    def start_blocked(self, out, *extra):
        """A quantize that waits on a FIFO for its calibration text: its staging
        directory exists and it reports no progress, deterministically."""
        self.fifos += 1
        fifo = self.path(f"calib-{self.fifos}.fifo")
        os.mkfifo(fifo)
        proc = subprocess.Popen([cli.GPTQ, "quantize", DEMO, "--out", out, "--calib", fifo, *FAST, *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        self.addCleanup(stop)
        self.assertTrue(wait_for(lambda: any(os.path.exists(os.path.join(d, ".libgptq-staging.lock"))
                                             for d in staging_dirs(out))), "no staging directory appeared")
        return proc

    def test_sigkill_mid_quantize_is_cleaned_by_the_next_run(self):
        out = self.path("q")
        proc = subprocess.Popen([cli.GPTQ, "quantize", DEMO, "--out", out, "--calib", CALIB,
                                 "--nsamples", "64", "--seqlen", "256"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stderr.readline()  # the first progress line, after the backend's: the pipeline runs
        while line.startswith("backend:"):
            line = proc.stderr.readline()
        self.assertIn("quantize", line)
        proc.kill()
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, -signal.SIGKILL)
        self.assertFalse(os.path.exists(out))  # nothing under the final name
        [stale] = staging_dirs(out)
        p = run("quantize", DEMO, "--out", out, "--method", "rtn", check_rc=0)
        self.assertIn(f"removed {stale}, left by a process that died", p.stderr)
        self.assertIn(f"pid {proc.pid}", p.stderr)
        self.assertEqual(staging_dirs(out), [])
        self.assertTrue(os.path.exists(os.path.join(out, "model.safetensors")))

    def test_a_live_run_is_left_alone(self):
        out = self.path("q")
        live = self.start_blocked(out)
        [theirs] = staging_dirs(out)
        p = run("quantize", DEMO, "--out", out, "--method", "rtn", check_rc=0)
        self.assertIn(f"left {theirs} in place: a live process is writing it (pid {live.pid}", p.stderr)
        self.assertEqual(staging_dirs(out), [theirs])
        live.kill()
        live.wait(timeout=30)
        p = run("quantize", DEMO, "--out", out, "--force", "--method", "rtn", check_rc=0)
        self.assertIn(f"removed {theirs}", p.stderr)
        self.assertEqual(staging_dirs(out), [])

    def test_a_directory_without_our_lock_is_reported_not_removed(self):
        out = self.path("q")
        os.makedirs(out + ".tmp-AbC123")
        with open(out + ".tmp-AbC123/model.safetensors", "w") as f:
            f.write("someone's")
        p = run("quantize", DEMO, "--out", out, "--method", "rtn", check_rc=0)
        self.assertIn(f"left {out}.tmp-AbC123 in place: it holds no libgptq lock file", p.stderr)
        self.assertTrue(os.path.exists(out + ".tmp-AbC123/model.safetensors"))

    def test_second_signal_ends_the_process_at_once(self):
        for first, second in ((signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT),
                              (signal.SIGINT, signal.SIGTERM)):
            with self.subTest(first=first, second=second):
                out = self.path(f"q{first}{second}")
                proc = self.start_blocked(out)
                proc.send_signal(first)
                time.sleep(0.5)
                self.assertIsNone(proc.poll(), "the first signal only asks the library to stop")
                proc.send_signal(second)
                start = time.monotonic()
                _, err = proc.communicate(timeout=10)
                self.assertLess(time.monotonic() - start, 2.0)
                self.assertEqual(proc.returncode, -second)
                self.assertIn(b"interrupt again to quit at once", err)
                self.assertFalse(os.path.exists(out))
        # What those kills left goes with the next run into each place.
        out = self.path(f"q{signal.SIGINT}{signal.SIGINT}")
        [left] = staging_dirs(out)
        p = run("quantize", DEMO, "--out", out, "--method", "rtn", check_rc=0)
        self.assertIn(f"removed {left}", p.stderr)

    def test_force_over_a_directory_whose_files_cannot_be_deleted(self):
        out = self.path("q")
        run("quantize", DEMO, "--out", out, "--method", "rtn", check_rc=0)
        old = tree(out)
        if os.geteuid() != 0:
            # Refused before any work: nothing replaced, nothing lost.
            os.chmod(out, 0o555)
            p = run("quantize", DEMO, "--out", out, "--force", "--method", "rtn", check_rc=1)
            self.assertIn("its files cannot be deleted", p.stderr)
            self.assertEqual(tree(out), old)
            self.assertEqual(staging_dirs(out), [])
            return
        # Root may delete anything a permission forbids; an immutable file (chattr +i)
        # is what it cannot delete. The new checkpoint is complete and in place by
        # then, so the run succeeds and says where what is left of the old one is.
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", os.path.join(out, "config.json")],
                                                        capture_output=True).returncode != 0:
            self.skipTest("running as root on a file system without chattr +i: cannot make a file undeletable")
        p = run("quantize", DEMO, "--out", out, "--force", "--method", "rtn", check_rc=0)
        [rest] = staging_dirs(out)
        self.immutable.append(os.path.join(rest, "config.json"))
        self.assertIn(f"replaced {os.path.realpath(out)}, but its old content could not all be deleted", p.stderr)
        self.assertIn(f"what is left of it is in {rest}", p.stderr)
        self.assertEqual(read_bytes(os.path.join(rest, "config.json")), old["config.json"])
        self.assertTrue(os.path.exists(os.path.join(out, "model.safetensors")))


class NoAbort(TempCase):
    """Every bad argument or file ends with exit 1 or 2 and a message, never a signal."""

    def check(self, args, rc, *messages, cwd=None):
        p = run(*args, cwd=cwd)
        self.assertEqual(p.returncode, rc, (args, p.stderr))
        for m in messages:
            self.assertIn(m, p.stderr, args)
        self.assertNotIn("terminate called", p.stderr)
        return p

    def test_config_files_of_the_wrong_shape(self):
        for name, text, message in (("array.json", "[1, 2]", "expected a JSON object (a QuantizeConfig), got array"),
                                    ("cal5.json", '{"calibration": 5}', 'field "calibration" must be an object'),
                                    ("method5.json", '{"method": 5}', "method: expected a QuantizeMethod name"),
                                    ("bad.json", "{bits: 4}", "not JSON"),
                                    ("bad_utf8.json", b'{"calibration": {"files": ["\xff"]}}', "not JSON")):
            path = self.path(name)
            with open(path, "wb") as f:
                f.write(text if isinstance(text, bytes) else text.encode())
            with self.subTest(name=name):
                self.check(("quantize", DEMO, "--out", self.path("q"), "--config", path, "--calib", CALIB),
                           1, message)
        self.check(("quantize", DEMO, "--out", self.path("q"), "--config", self.tmp, "--calib", CALIB), 1,
                   f"--config {self.tmp}: cannot read it: it is a directory")
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ["array.json", "bad.json", "bad_utf8.json", "cal5.json", "method5.json"])

    def test_arguments_that_are_not_utf8(self):
        self.check(("generate", DEMO, "-p", "hi", "--stop", b"\xff", "-n", "3"), 2,
                   "--stop is not valid UTF-8", "could never contain")
        bad_name = os.path.join(self.tmp.encode(), b"calib-\xff.txt")
        shutil.copy(CALIB, bad_name)
        self.check(("quantize", DEMO, "--out", self.path("q"), "--calib", bad_name, *FAST), 2,
                   "--calib is not valid UTF-8", "symbolic link")
        # Where the bytes are only a label or are text to tokenize, they are taken
        # (invalid bytes read as U+FFFD, as Python's errors="replace").
        model = os.path.join(self.tmp.encode(), b"model-\xff")
        os.symlink(DEMO, model)
        info = json.loads(self.check(("inspect", model, "--json", "--no-tensors"), 0).stdout)
        self.assertTrue(info["directory"].endswith("model-\ufffd"), info["directory"])
        out = json.loads(self.check(("eval", model, "--ppl", CALIB, "--max-windows", "1", "--json"), 0).stdout)
        self.assertEqual(out["windows"], 1)
        self.check(("generate", DEMO, "-p", b"caf\xe9", "-n", "2", "--temperature", "0"), 0)
        self.check(("tokenize", DEMO, "-p", b"\xff\xfe"), 0)


class NonFinite(unittest.TestCase):
    """NaN and Inf are refused wherever a number is read, never read as "not given"."""

    def test_options(self):
        for args, option in ((("quantize", DEMO, "--out", "/nonexistent/q", "--calib", CALIB, "--damp", "nan"),
                              "--damp"),
                             (("quantize", DEMO, "--out", "/nonexistent/q", "--calib", CALIB, "--damp", "1e999"),
                              "--damp"),
                             (("generate", DEMO, "-p", "x", "--temperature", "nan"), "--temperature"),
                             (("generate", DEMO, "-p", "x", "--top-p", "-inf"), "--top-p"),
                             (("generate", DEMO, "-p", "x", "--repetition-penalty", "NAN"), "--repetition-penalty")):
            with self.subTest(args=args):
                p = run(*args, check_rc=2)
                self.assertIn(f"{option} expects a finite number", p.stderr)
        p = run("quantize", DEMO, "--out", "/nonexistent/q", "--calib", CALIB, "--seqlen", "9" * 30, check_rc=2)
        self.assertIn("--seqlen " + "9" * 30 + " is out of range", p.stderr)

    def test_config_json(self):
        for text, field in (('{"damp_percent": NaN}', "damp_percent"),
                            ('{"calibration": {"seqlen": 64, "nsamples": -Infinity}}', "calibration.nsamples"),
                            ('{"mse": {"norm": Infinity}}', "mse.norm"),
                            ('{"damp_percent": 1e999}', "damp_percent")):
            with self.subTest(text=text):
                p = run("config", "quantize", text, check_rc=1)
                self.assertIn(f"invalid QuantizeConfig: {field}: ", p.stderr)
        p = run("config", "generation", '{"temperature": NaN}', check_rc=1)
        self.assertIn("temperature: NaN is not a JSON number", p.stderr)


class Context(TempCase):
    """Past the model's context (512 for the demo model) is refused, for every
    architecture, naming both numbers; what is used is what is reported."""

    def test_quantize_seqlen(self):
        p = run("quantize", DEMO, "--out", self.path("q"), "--calib", CALIB, "--nsamples", "2", "--seqlen", "1024",
                check_rc=1)
        self.assertIn("seqlen 1024 is longer than the model's context of 512", p.stderr)
        self.assertEqual(os.listdir(self.tmp), [])
        report = json.loads(run("quantize", DEMO, "--out", self.path("q"), "--calib", CALIB, "--nsamples", "2",
                                "--json", check_rc=0).stdout)
        self.assertEqual(report["config"]["calibration"]["seqlen"], 512)  # 0: the context, as used

    def test_eval_seqlen(self):
        p = run("eval", DEMO, "--ppl", CALIB, "--seqlen", "1024", check_rc=1)
        self.assertIn("seqlen 1024 exceeds the model's context of 512 positions (max_position_embeddings)",
                      p.stderr)
        run("eval", DEMO, "--ppl", CALIB, "--seqlen", "512", "--max-windows", "1", check_rc=0)

    def test_generation(self):
        p = run("generate", DEMO, "-p", "hi", "-n", "600", "--ignore-eos", check_rc=1)
        self.assertIn("plus max_new_tokens 600 make", p.stderr)
        self.assertIn("more than the model's context of 512 positions", p.stderr)
        p = run("generate", DEMO, "-p", "hi " * 600, "-n", "1", check_rc=1)
        self.assertIn("more than the model's context of 512", p.stderr)

    def test_opt_is_refused_the_same_way(self):
        base = os.environ.get("GPTQ_SHARED_DIR", "")
        opt = os.path.join(base, "models", "docs-opt-15m")
        if not base or not os.path.isdir(opt):
            if os.environ.get("CI") == "true":
                raise AssertionError(f"CI=true but the shared test model is missing: {opt}")
            self.skipTest(f"shared test model missing (skipped outside CI): {opt}")
        p = run("eval", opt, "--ppl", CALIB, "--seqlen", "4096", check_rc=1)
        self.assertIn("seqlen 4096 exceeds the model's context of 2048 positions", p.stderr)
        p = run("generate", opt, "-p", "hi", "-n", "4000", check_rc=1)
        self.assertIn("more than the model's context of 2048 positions", p.stderr)


class Messages(TempCase):
    """A path that is there but is not what is needed says what it is; failures say why."""

    def test_paths(self):
        with open(self.path("file"), "w") as f:
            f.write("x")
        self.assertIn("model directory: an empty path was given", run("inspect", "", check_rc=1).stderr)
        self.assertIn(f"model directory {self.path('file')} is a regular file, not a directory",
                      run("inspect", self.path("file"), check_rc=1).stderr)
        self.assertIn(f"model directory {self.path('none')} does not exist",
                      run("inspect", self.path("none"), check_rc=1).stderr)
        self.assertIn(f"cannot read {self.tmp}: it is a directory",
                      run("eval", DEMO, "--ppl", self.tmp, check_rc=1).stderr)
        self.assertIn(f"cannot read {self.path('none')}: No such file or directory",
                      run("tokenize", DEMO, "-f", self.path("none"), check_rc=1).stderr)
        self.assertIn(f"{self.tmp}: is a directory, not a regular file",
                      run("quantize", DEMO, "--out", self.path("q"), "--calib", self.tmp, *FAST,
                          check_rc=1).stderr)
        # A shard that is a directory is not "missing".
        model = self.model_copy("m")
        os.remove(os.path.join(model, "model-00002-of-00002.safetensors"))
        os.mkdir(os.path.join(model, "model-00002-of-00002.safetensors"))
        self.assertIn("'model-00002-of-00002.safetensors' (holding tensor 'lm_head.weight') is a directory, "
                      "not a regular file", run("inspect", model, check_rc=1).stderr)

    def test_unreadable_file_says_why(self):
        if os.geteuid() == 0:
            self.skipTest("root reads files whatever their mode")
        with open(self.path("secret.txt"), "w") as f:
            f.write("x")
        os.chmod(self.path("secret.txt"), 0)
        self.assertIn("Permission denied", run("tokenize", DEMO, "-f", self.path("secret.txt"), check_rc=1).stderr)

    def test_pipes_are_read_to_their_end(self):
        text = read_bytes(CALIB)[:200000]  # several pipe buffers
        with open(self.path("part.txt"), "wb") as f:
            f.write(text)
        for command in (("tokenize", DEMO, "--json", "-f"), ("eval", DEMO, "--max-windows", "2", "--json", "--ppl")):
            with self.subTest(command=command[0]):
                r, w = os.pipe()
                proc = subprocess.Popen([cli.GPTQ, *command, f"/dev/fd/{r}"], pass_fds=(r,),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                os.close(r)
                with os.fdopen(w, "wb") as f:
                    f.write(text)
                out, err = proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, 0, err)
                from_file = json.loads(run(*command, self.path("part.txt"), check_rc=0).stdout)
                from_pipe = json.loads(out)
                for key in ("ids", "count", "ppl", "tokens"):
                    self.assertEqual(from_pipe.get(key), from_file.get(key), key)
        # The library reads calibration text from a pipe the same way.
        r, w = os.pipe()
        proc = subprocess.Popen([cli.GPTQ, "quantize", DEMO, "--out", self.path("q"), "--calib", f"/dev/fd/{r}", *FAST,
                                 "--json"], pass_fds=(r,), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(r)
        with os.fdopen(w, "wb") as f:
            f.write(text)
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        from_file = json.loads(run("quantize", DEMO, "--out", self.path("q2"), "--calib", self.path("part.txt"),
                                   *FAST, "--json", check_rc=0).stdout)
        self.assertEqual([layer["loss"] for layer in json.loads(out)["layers"]],
                         [layer["loss"] for layer in from_file["layers"]])


if __name__ == "__main__":
    cli.GPTQ = sys.argv.pop(1)
    unittest.main(verbosity=2)

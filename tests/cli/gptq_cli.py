"""The gptq binary as every CLI test runs it, and the shared test files they
read. Each test file's main sets GPTQ from its argv[1]:
`gptq_cli.GPTQ = sys.argv.pop(1)`."""
import json
import os
import subprocess
import unittest

GPTQ = None
REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(*args, check_rc=None, timeout=300, cwd=None):
    """Runs gptq with args (str or bytes: some tests pass names that are not
    UTF-8); stdout and stderr come back as text, bytes that are not UTF-8
    replaced."""
    p = subprocess.run([GPTQ, *args], capture_output=True, timeout=timeout, cwd=cwd)
    p.stdout, p.stderr = (s.decode("utf-8", "replace") for s in (p.stdout, p.stderr))
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError(f"gptq {args}: rc {p.returncode} != {check_rc}\n"
                             f"stdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}")
    return p


def shared(rel):
    """A file of ../shared (GPTQ_SHARED_DIR): missing, it fails the test under
    CI=true and skips it, saying so, elsewhere."""
    base = os.environ.get("GPTQ_SHARED_DIR", "")
    path = os.path.join(base, rel)
    if not base or not os.path.exists(path):
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI=true but the shared test file is missing: {path}")
        raise unittest.SkipTest(f"shared test file missing (skipped outside CI): {path}")
    return path


def sanitized():
    """Whether the binary is an ASan/UBSan build (slow: tests run less)."""
    return os.environ.get("GPTQ_SANITIZED") == "1"


def read_json(path):
    with open(path) as f:
        return json.load(f)

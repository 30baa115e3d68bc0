"""The one writer of BENCH.md's result files for the Python benchmark drivers
in bench/: the header (bench, device, commit, date, command) and the rows, as
one JSON document written atomically (a failed run leaves the old file)."""
import datetime
import json
import os
import subprocess
import sys
import tempfile


def commit():
    """GPTQ_COMMIT when set (a tree copied to another machine has no .git),
    else `git describe --always --dirty` of this checkout."""
    if os.environ.get("GPTQ_COMMIT"):
        return os.environ["GPTQ_COMMIT"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "unknown"


def write(path, bench, device, rows, **extra):
    """Writes the result file; `extra` (e.g. note=...) goes into the header."""
    result = {
        "bench": bench,
        "device": device,
        "commit": commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(sys.argv),
        **extra,
        "rows": rows,
    }
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print("wrote", path)

#!/usr/bin/env python3
"""What a call costs from each language, beside C, in one run on one machine
(issue 14): runs the crossing program of C (bench/crossing/c) and of every
binding built here, in alternation for --rounds rounds, each by the protocol
of bench/crossing/README.md, and writes BENCH.md rows: per language and case,
"ours" is the language's median over rounds, "baseline" C's; speedup > 1:
the language is faster. The callback rows give what a callback in the language
adds per token, measured inside each process (see bench/crossing/README.md);
their overhead_us (the language's minus C's, which is the library's own work
for a callback: each token's text piece) is held against the goal of 2 us.

    python3 bench/run_crossing_bench.py --build build/default --rounds 5 \\
        --out bench/results/crossing-cpu-2core.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import bench_json  # bench/bench_json.py: the BENCH.md file writer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "demo", "docs-llama-tiny")
TEXT = os.path.join(ROOT, "demo", "text", "eval.txt")
CASES = [("version_ns", "ns", "gptq_version()"),
         ("tokenize_us", "us", "tokenize {bytes} bytes of demo/text/eval.txt (demo tokenizer)"),
         ("per_token_us", "us", "per token of a 256-token greedy generation (demo model, CPU, 1 thread), "
                                "streamed to a callback"),
         ("callback_us", "us", "what the callback adds per token (vs the same generation without one, same process; "
                               "goal: under 2 us more than C's)")]


def go_env(build):
    bindings = os.path.join(build, "tests", "bindings")
    return {"PKG_CONFIG_PATH": os.path.join(bindings, "pkgconfig"), "GOPROXY": "off", "GOFLAGS": "-mod=mod",
            "GOCACHE": os.path.join(bindings, "go-cache"), "GOPATH": os.path.join(bindings, "go-path")}


def rust_env(build):
    lib = os.path.join(build, "lib")
    return {"CARGO_TARGET_DIR": os.path.join(build, "bindings", "rust", "target"), "GPTQ_LIB_DIR": lib,
            "LD_LIBRARY_PATH": lib}


def programs(build):
    """name -> (setup command or None, run command, extra environment); or a
    reason string when that language is not built here."""
    found = {}
    c = os.path.join(build, "bin", "crossing_bench_c")
    found["c"] = ([], [c, MODEL, TEXT], {}) if os.path.exists(c) else "crossing_bench_c is not built"
    if os.path.isdir(os.path.join(build, "tests", "bindings", "pkgconfig")):
        exe = os.path.join(build, "bench", "crossing_go")
        # (go 1.19's build has no -C: cd in a shell)
        found["go"] = (["sh", "-c", 'cd "$1" && go build -o "$2" .', "sh", os.path.join(ROOT, "bench", "crossing", "go"),
                        exe],
                       [exe, MODEL, TEXT], go_env(build))
    else:
        found["go"] = "the Go binding's tests are not configured in this build"
    if os.path.isdir(os.path.join(build, "bindings", "rust")):
        found["rust"] = ([], ["cargo", "bench", "--offline", "--quiet", "--manifest-path",
                              os.path.join(ROOT, "bindings", "rust", "Cargo.toml"), "--bench", "crossing", "--",
                              "--line"], rust_env(build))
    else:
        found["rust"] = "the Rust bindings are not configured in this build (GPTQ_BUILD_RUST)"
    java = os.path.join(build, "bindings", "java")
    if os.path.exists(os.path.join(java, "bench-classes", "CrossingBench.class")):
        found["java"] = ([], ["java", "-Djava.library.path=" + os.path.join(build, "lib"), "-cp",
                              os.path.join(java, "gptq.jar") + ":" + os.path.join(java, "bench-classes"),
                              "CrossingBench", MODEL, TEXT], {})
    else:
        found["java"] = "the Java binding is not built (GPTQ_BUILD_JAVA)"
    cs = os.path.join(build, "bindings", "csharp")
    if os.path.exists(os.path.join(cs, "CrossingBench.exe")):
        # LibGptq.dll and libgptq_csharp.so are in the build's lib/
        found["csharp"] = ([], ["mono", os.path.join(cs, "CrossingBench.exe"), MODEL, TEXT],
                           {"MONO_PATH": os.path.join(build, "lib")})
    else:
        found["csharp"] = "the C# binding is not built (GPTQ_BUILD_CSHARP)"
    return found


def run(cmd, env):
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return p.stdout


def last_json_line(out, cmd):
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    sys.exit(f"{' '.join(cmd)} printed no JSON line:\n{out[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "default"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default=None, help="the machine, in words (default: lscpu's model name)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    if a.device is None:
        model = [l.split(":", 1)[1].strip() for l in run(["lscpu"], {}).splitlines() if l.startswith("Model name")]
        a.device = f"{model[0] if model else 'CPU'}, {os.cpu_count()} CPUs"

    langs = programs(build)
    for name, p in langs.items():
        if isinstance(p, str):
            print(f"{name}: skipped: {p}")
        elif p[0]:
            run(p[0], p[2])
    if isinstance(langs["c"], str):
        sys.exit("the C baseline is needed: " + langs["c"])
    live = {n: p for n, p in langs.items() if not isinstance(p, str)}
    results = {n: [] for n in live}
    for r in range(a.rounds):
        for name, (_, cmd, env) in live.items():
            results[name].append(last_json_line(run(cmd, env), cmd))
            print(f"round {r + 1}: {name}: {results[name][-1]}")

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    rows = []
    for name in live:
        if name == "c":
            continue
        for key, unit, case in CASES:
            ours, base = med(name, key), med("c", key)
            row = {"case": f"{name}: {case.format(bytes=results[name][0]['tokenize_bytes'])}", "unit": unit,
                   "ours": round(ours, 4), "baseline": round(base, 4), "baseline_name": "c_api_direct",
                   "speedup": round(base / ours, 4) if ours > 0 else None}
            if key == "callback_us":
                # C's figure is the library's own work for a callback (each
                # token's text piece) plus a C call: the rest is the crossing.
                row["overhead_us"] = round(ours - base, 4)
                row["goal_overhead_us"] = 2.0
            rows.append(row)
    for name, reason in langs.items():
        if isinstance(reason, str):
            rows.append({"case": f"{name}: not measured", "unit": "", "ours": None, "baseline": None,
                         "baseline_name": "c_api_direct", "reason": reason})
    print(f"{'case':<110} {'ours':>10} {'C':>10}")
    for row in rows:
        if row["ours"] is not None:
            print(f"{row['case']:<110} {row['ours']:>10.3f} {row['baseline']:>10.3f} {row['unit']}")
    bench_json.write(a.out, "crossing", a.device, rows,
                     note=f"median over {a.rounds} rounds of each program (C, then each language, in turn); "
                          "each program's figure is itself a median of 15 repetitions after a warm-up")


if __name__ == "__main__":
    main()

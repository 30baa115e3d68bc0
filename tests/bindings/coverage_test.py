#!/usr/bin/env python3
"""Every function of gptq.h (capi/exports.txt) is reached by the layers users
see of the SWIG languages: Go's package gptq calls the generated module's
`capi.<Name>(` (gptq_ stripped, first letter upper-cased, as SWIG names it),
Java's and C#'s layers `gptq.<name>` (called, or named as a method reference
or delegate); or through a helper of the module listed below; or it is left
out for the reason given. A function added to gptq.h without its binding
fails here. Rust has its own (bindings/rust/gptq/tests/coverage.rs), over
bindgen's declarations.

    python3 tests/bindings/coverage_test.py [REPO_ROOT]
"""
import os
import re
import sys

COMMON_NOT_BOUND = {
    "gptq_last_error": "read inside the SWIG wrapper on the failing call's thread (gptq.i)",
    "gptq_clear_error": "every error is thrown, nothing is left to clear",
    "gptq_perplexity": "deprecated: evaluate's report holds its numbers",
    **{f"gptq_matrix_result_{m}": "a borrowed pointer; the _copy accessor gives managed memory"
       for m in ("qweight", "qzeros", "scales_fp16", "g_idx", "dequantized", "scales", "zeros")},
}
LANGS = {
    "go": {
        "src": "bindings/go/gptq",
        "skip": "_test.go",
        "call": lambda name: r"capi\." + re.escape(name[:1].upper() + name[1:]) + r"\(",
        # The size-and-retry helpers of bindings/swig/go_runtime.go.in.
        "through": {"gptq_tokenize": "TokenizeIDs", "gptq_detokenize": "DetokenizeText",
                    "gptq_config_convert": "ConfigConvertBytes",
                    **{f"gptq_matrix_result_{m}_copy": "MatrixInt32" for m in ("qweight", "qzeros", "g_idx", "zeros")},
                    "gptq_matrix_result_scales_fp16_copy": "MatrixScalesFP16",
                    "gptq_matrix_result_dequantized_copy": "MatrixFloat32",
                    "gptq_matrix_result_scales_copy": "MatrixFloat32"},
        "not_bound": {**COMMON_NOT_BOUND,
                      "gptq_clear_error": "every error is returned, nothing is left to clear"},
    },
    "java": {
        "src": "bindings/java/src",
        # The matrix copies go through java_runtime.c.in's typed helpers, the
        # status names into the exception's message in the wrapper.
        "through": {**{f"gptq_matrix_result_{m}_copy": h for m, h in (
            ("qweight", "matrix_result_ints"), ("qzeros", "matrix_result_ints"), ("g_idx", "matrix_result_ints"),
            ("zeros", "matrix_result_ints"), ("dequantized", "matrix_result_floats"),
            ("scales", "matrix_result_floats"), ("scales_fp16", "matrix_result_halves"))}},
        "not_bound": {**COMMON_NOT_BOUND,
                      "gptq_status_name": "the wrapper writes it into GptqException's message (gptq.i)"},
    },
    "csharp": {"src": "bindings/csharp/src", "through": {}, "not_bound": dict(COMMON_NOT_BOUND)},
}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    exports = [l.strip() for l in open(os.path.join(root, "capi", "exports.txt")) if l.strip() and not l.startswith("#")]
    if len(exports) < 40:
        sys.exit(f"read only {len(exports)} functions from capi/exports.txt")
    errors = []
    for lang, spec in LANGS.items():
        code = ""
        for folder, _, files in os.walk(os.path.join(root, spec["src"])):
            for f in files:
                if not ("skip" in spec and f.endswith(spec["skip"])):
                    code += open(os.path.join(folder, f), encoding="utf-8").read()
        call = spec.get("call", lambda name: r"gptq(\.|::)" + re.escape(name) + r"\b")

        def named(name):
            return re.search(call(name), code) is not None

        for f in exports:
            short = f[len("gptq_"):]
            helper = spec["through"].get(f)
            excused = f in spec["not_bound"]
            if named(short) and (helper or excused):
                errors.append(f"{lang}: {f} is bound by its own name: take it off the lists")
            elif helper and not named(helper):
                errors.append(f"{lang}: {f}: the layer does not call the module's {helper}")
            elif not named(short) and not helper and not excused:
                errors.append(f"{lang}: {f} has no binding in {spec['src']} (or list it here with the reason)")
        for f in list(spec["through"]) + list(spec["not_bound"]):
            if f not in exports:
                errors.append(f"{lang}: {f} is no longer in gptq.h: take it off the lists")
    for e in errors:
        print("coverage:", e)
    if errors:
        sys.exit(1)
    print(f"coverage: all {len(exports)} functions of gptq.h bound or excused in {', '.join(LANGS)}")


if __name__ == "__main__":
    main()

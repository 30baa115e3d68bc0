#!/usr/bin/env python3
"""The README's snippets are copied from the examples, which CI builds and runs
(examples/example_test.sh), so what a new user copies from the README works.
Under the README's "## Using it from your language", each fenced block must be
introduced by a paragraph naming its example in backticks (`examples/<lang>/...`),
and every line of the block must be a line of that file (leading and trailing
blanks aside). Every language folder in examples/ must have its snippet.

    python3 tests/readme_snippets_test.py [REPO_ROOT]
"""
import os
import re
import sys

SECTION = "## Using it from your language"


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read().splitlines()
    if SECTION not in readme:
        sys.exit(f"README.md has no section {SECTION!r}")
    body = readme[readme.index(SECTION) + 1:]
    end = next((i for i, l in enumerate(body) if l.startswith("## ")), len(body))
    body = body[:end]

    errors, covered = [], set()
    i = 0
    while i < len(body):
        if not body[i].startswith("```"):
            i += 1
            continue
        start = i
        while start > 0 and body[start - 1].strip():
            start -= 1
        intro = " ".join(body[start:i])  # the paragraph just before the block
        m = re.search(r"`(examples/[^/`]+/[^`]+)`", intro)
        close = next(j for j in range(i + 1, len(body)) if body[j].startswith("```"))
        block = body[i + 1:close]
        if not m:
            errors.append(f"README line {intro!r}: no `examples/<lang>/<file>` before the block {block[:1]}")
        else:
            path = os.path.join(root, m.group(1))
            if not os.path.isfile(path):
                errors.append(f"{m.group(1)}: named in the README, not there")
            else:
                lines = {l.strip() for l in open(path, encoding="utf-8")}
                for line in block:
                    if line.strip() and line.strip() not in lines:
                        errors.append(f"{m.group(1)}: README line not in the example: {line.strip()!r}")
                covered.add(m.group(1).split("/")[1])
        i = close + 1

    langs = {d for d in os.listdir(os.path.join(root, "examples")) if os.path.isdir(os.path.join(root, "examples", d))}
    for lang in sorted(langs - covered):
        errors.append(f"examples/{lang}: no README snippet under {SECTION!r}")
    for e in errors:
        print("readme_snippets:", e)
    if errors:
        sys.exit(1)
    print(f"readme_snippets: {len(covered)} snippets, each copied from its example: {', '.join(sorted(covered))}")


if __name__ == "__main__":
    main()

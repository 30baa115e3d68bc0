#!/usr/bin/env python3
"""Make tests/data/tokenizer/split_vectors.json: how the GPT-2, Llama-3 and Qwen2
pre-tokenizer regexes split a set of strings, computed with the Python `regex` module
(\\p{L}, \\p{N}, \\s as White_Space, leftmost-first alternation, like Oniguruma and the
Rust regex crate). tests/core/tokenizer/split_patterns_test.cpp checks our hand-written
matchers against it. Random strings are drawn (seeded) from code points that are
assigned in this Python's Unicode version, so the table version does not matter.

    python3 scripts/make_split_vectors.py > tests/data/tokenizer/split_vectors.json
"""
import json
import os
import random
import sys
import unicodedata

import regex

PATTERNS = {
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
}

# Characters that exercise every branch: spaces of all kinds, newlines, apostrophes
# and contraction letters (with case and U+017F), letters, digits, marks, symbols.
ALPHABET = list(" \t\n\r\x0b\x0c\x85\xa0\u2009\u3000'sStTmMdDrReEvVlL") + list(
    "abcXYZ0123456789.,!?-_()[]{}<>@#$%^&*=+/\\|~`\"") + [
    "\u017f", "é", "ß", "中", "文", "ا", "ش", "٣", "½", "²", "\u0301", "\u0308", "\u200d",
    "❤", "🦀", "\ufe0f", "𝔘", "Ⅻ", "\u00ad", "\u0000", "\x1f", "\u2028"]


def random_assigned(rng):
    while True:
        cp = rng.randrange(0x20, 0x2FFFF)
        c = chr(cp)
        if unicodedata.category(c) not in ("Cn", "Cs", "Co"):
            return c


def main():
    rng = random.Random(1234)
    texts = []
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "tests", "data", "tokenizer", "hard_cases.json"), encoding="utf-8") as f:
        for case in json.load(f):
            if "text" in case:
                texts.append(case["text"])
    for _ in range(300):
        n = rng.randrange(1, 24)
        texts.append("".join(rng.choice(ALPHABET) for _ in range(n)))
    for _ in range(100):
        n = rng.randrange(1, 12)
        texts.append("".join(random_assigned(rng) if rng.random() < 0.5 else rng.choice(ALPHABET)
                             for _ in range(n)))
    out = []
    for t in texts:
        entry = {"text": t}
        for name, pat in PATTERNS.items():
            entry[name] = regex.findall(pat, t)
            assert "".join(entry[name]) == t, (name, t)
        out.append(entry)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

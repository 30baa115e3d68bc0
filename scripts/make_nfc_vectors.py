#!/usr/bin/env python3
"""Make tests/data/tokenizer/nfc_vectors.json: strings with their NFC and NFD forms as
HF tokenizers' own NFC / NFD normalizers give them (Unicode 9.0.0 tables, see
scripts/gen_unicode_nfc_tables.py), through the npm package tokenizers@0.23.2 and
tests/reference/hf_tokenizers_npm.js. tests/core/tokenizer/unicode_nfc_test.cpp checks
core/tokenizer/unicode_nfc against it. The inputs are drawn from this Python's
unicodedata (newer than 9.0: the characters assigned since are among the cases).

Each line is [text, nfc, nfd], where nfc / nfd is null when equal to text. The cases:
hand-picked ones (combining marks out of order, blocked pairs, Hangul jamo and
syllables, singletons, composition exclusions, non-starter decompositions, two-step
compositions), every character with a canonical decomposition or a non-zero combining
class (in groups, alone and followed by marks), and seeded random mixes of those with
ASCII, CJK, Hangul and emoji.

    python3 scripts/make_nfc_vectors.py --npm /work/npm-tok > tests/data/tokenizer/nfc_vectors.json

(--npm: the folder where `npm install tokenizers@0.23.2` was run.)

With --fuzz-corpus DIR it instead writes the seed corpus of the unicode_nfc fuzzer
(the hand-picked cases and the first random mixes, one file each):

    python3 scripts/make_nfc_vectors.py --npm /work/npm-tok --fuzz-corpus tests/fuzz/corpus/unicode_nfc
"""
import argparse
import os
import json
import random
import subprocess
import sys
import unicodedata

HAND = [
    "", "abc", "e\u0301", "\u0301e", "\u0301", "a\u0302\u0323", "a\u0323\u0302",
    "\u1e0b\u0323", "\u1e0d\u0307", "q\u0307\u0323", "a\u0301\u0301", "a\u0308\u0301",
    "a\u0305\u0301", "a\u031b\u0301\u0323", "\u00c5\u0301", "A\u030a\u0301",
    "\u212b", "\u2126", "\u212a", "\u0340\u0341", "\u0343", "\u0344", "e\u0344",
    "\u0958", "\u0915\u093c", "\u2adc", "\u2add\u0338", "\U0001d15e", "\U0001d157\U0001d165",
    "\U0001d160", "\u0f73", "\u0f71\u0f72", "\u0f75", "\u0f81", "\uf900", "\ufad9",
    "\U0002f800", "\U0002fa1d",
    "\u1100", "\u1100\u1161", "\u1100\u1161\u11a8", "\u1100\u11a8", "\u1161\u11a8",
    "\uac00\u11a8", "\uac01\u11a8", "\uac00\u11a7", "\uac00\u11c3", "\u1112\u1175\u11c2",
    "\u1113\u1161", "\u1100\u1176", "\u1100\u0301\u1161", "\ud7a3", "\ud7a4",
    "\u0cca", "\u0ccb", "\u0cc6\u0cc2\u0cd5", "\u0cc6\u0cd5\u0cc2", "\u0b92\u0bd7",
    "\u0bc6\u0bbe", "\u0bc6\u0300\u0bbe", "\u09c7\u09be", "\u0dd9\u0dcf\u0dca",
    "\u1025\u102e", "\u0627\u0653", "\u0627\u0654\u0655", "\u0648\u0654",
    "\u05d0\u05b7\u05bc", "\u05e9\u05c1\u05bc", "\ufb2c", "\ufb2d",
    "\u0041\u030c\u0327", "\u0041\u0327\u030c", "\u01d5", "\u00dc\u0304", "u\u0308\u0304",
    "\u1e69", "s\u0307\u0323", "s\u0323\u0307", "\u1fc1\u0345", "\u03b1\u0313\u0300\u0345",
    "\u03b1\u0345\u0313\u0300", "\u1f82", "\u0399\u0308\u0301", "\u03d3", "\u03d2\u0301",
    "caf\u00e9 na\u0131\u0308ve \u4e2d\u6587 \ud55c\uad6d\uc5b4 \U0001f980!",
    "Ame\u0301lie \u0410\u0306 \u0418\u0306 \u3099\u304b\u3099 \u304b\u309a",
    "\u30cf\u309a", "\u30d1", "\u3071\u3099",
    "\U000110a5\U000110ba", "\U000110ab", "\U00011131\U00011127", "\U0001134b",
    "\U00011347\U0001133e\U00011357", "\U000114bb", "\U000115ba", "\U00011938",
    "\U00011935\U00011930",
    # Marks assigned after Unicode 9.0: starters (class 0) in HF's 9.0 tables.
    "a\u1df6\u0301", "a\u0301\u1df6", "e\u1df9\u0323", "\u1df6", "a\u0d3b\u0301",
    "\U00011d42\u0301", "a\U0001e94a\u0316", "o\u0308\u1dfa", "a\u1abf\u0301",
    "\U00011938", "\U00011935\U00011930\u0301",
]


def hf_forms(npm_dir, texts):
    """[(nfc, nfd)] of each text by HF tokenizers' normalizers (npm package)."""
    script = os.path.join(os.path.dirname(__file__), "..", "tests", "reference", "hf_tokenizers_npm.js")
    env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
    out = subprocess.run(["node", script], input=json.dumps({"op": "normalize", "texts": texts}),
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)["results"]


def assigned(c):
    return unicodedata.category(c) not in ("Cn", "Cs", "Co")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", required=True, help="folder holding node_modules/tokenizers")
    ap.add_argument("--fuzz-corpus", help="write the fuzzer's seed corpus here instead")
    args = ap.parse_args()
    rng = random.Random(20240614)
    decomposable, marks, seconds = [], [], set()
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue
        d = unicodedata.decomposition(c)
        if d and not d.startswith("<"):
            decomposable.append(c)
            parts = d.split()
            if len(parts) == 2 and unicodedata.normalize("NFC", c) == c:
                seconds.add(chr(int(parts[1], 16)))
        if unicodedata.combining(c):
            marks.append(c)
    seconds = sorted(seconds)
    hangul_l = [chr(cp) for cp in range(0x1100, 0x1113)]
    hangul_v = [chr(cp) for cp in range(0x1161, 0x1176)]
    hangul_t = [chr(cp) for cp in range(0x11A8, 0x11C3)]
    syllables = [chr(0xAC00 + rng.randrange(11172)) for _ in range(60)]

    texts = list(HAND)
    # Every decomposable character and every mark, in groups.
    for group in (decomposable, marks, seconds):
        for i in range(0, len(group), 48):
            texts.append("".join(group[i:i + 48]))
    # Each decomposable character after a base, followed by a random mark.
    chunk = []
    for c in decomposable:
        chunk.append(c + rng.choice(marks))
        if len(chunk) == 24:
            texts.append(" ".join(chunk))
            chunk = []
    if chunk:
        texts.append(" ".join(chunk))
    # Each mark after a letter and before another mark (so some pairs need reordering).
    for i in range(0, len(marks), 24):
        texts.append("".join("a" + m + rng.choice(marks) for m in marks[i:i + 24]))
    first_mix = len(texts)
    # Random mixes.
    pools = [
        (list("abcdeoquAEOU sS.,1"), 4),
        (marks, 5),
        (seconds, 4),
        (decomposable, 4),
        (hangul_l + hangul_v + hangul_t, 3),
        (syllables, 2),
        (list("\u4e2d\u6587\u65e5\u672c\u3042\u30a2\U0001f980\U0001f600\u00e9\u00f1\u00df"), 1),
    ]
    weights = [w for _, w in pools]
    for _ in range(700):
        n = rng.randrange(1, 11)
        s = "".join(rng.choice(rng.choices(pools, weights)[0][0]) for _ in range(n))
        texts.append(s)
    # Random assigned characters from the whole range.
    for _ in range(40):
        s = ""
        while len(s) < 12:
            c = chr(rng.randrange(0x20, 0x2FFFF))
            if assigned(c):
                s += c
        texts.append(s)

    if args.fuzz_corpus:
        seeds = [t for t in HAND if t] + texts[first_mix:first_mix + 20]
        os.makedirs(args.fuzz_corpus, exist_ok=True)
        for k, t in enumerate(seeds):
            with open(os.path.join(args.fuzz_corpus, f"seed_{k:03d}"), "wb") as f:
                f.write(t.encode("utf-8"))
        return

    w = sys.stdout.write
    w("[\n")
    forms = hf_forms(args.npm, texts)
    for k, (t, (nfc, nfd)) in enumerate(zip(texts, forms)):
        row = [t, None if nfc == t else nfc, None if nfd == t else nfd]
        w(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        w(",\n" if k + 1 < len(texts) else "\n")
    w("]\n")


if __name__ == "__main__":
    main()

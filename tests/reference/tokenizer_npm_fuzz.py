#!/usr/bin/env python3
"""Differential fuzz run: random and adversarial texts through HF tokenizers (the npm
package `tokenizers`, tests/reference/hf_tokenizers_npm.js) and through ours
(tokenizer_npm_diff, built from tests/core/tokenizer), on the real tokenizer files of
../shared/tokenizers. Run here, not in CI (CI has no node package):

    python3 tests/reference/tokenizer_npm_fuzz.py --npm /work/npm-tok \\
        --diff build/default/bin/tokenizer_npm_diff --texts 3000 --seed 1

Prints, per family, how many texts and bytes were compared and every text whose ids
differ (with and without special tokens), and exits 1 when any differ. --save DIR keeps
each family's cases file for tokenizer_npm_diff.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

FAMILIES = ["llama3", "qwen2.5", "mistral-v0.1", "phi3-mini", "gpt2"]
HERE = os.path.dirname(os.path.abspath(__file__))

SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\xa0",
          "\u1680", "\u2000", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f",
          "\u3000", " \n ", "\n \n", "\t\t \n"]
WORDS = ["the", "The", "THE", "hello", "world", "don", "I", "a", "caf\u00e9", "na\u00efve",
         "\u00fcber", "stra\u00dfe", "\u0131stanbul", "\u0130", "pneumonoultramicroscopic",
         "\u4e2d\u6587", "\u65e5\u672c\u8a9e", "\ud55c\uad6d\uc5b4", "\u0645\u0631\u062d\u0628\u0627",
         "\u05e9\u05dc\u05d5\u05dd", "\u041f\u0440\u0438\u0432\u0435\u0442", "\u03b3\u03b5\u03b9\u03ac",
         "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
         "\u1780\u17b6\u1793\u17cb", "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
         "\u0f56\u0f7c\u0f51", "\u1200\u120b", "Vi\u1ec7t", "\u017f", "\u2160\u2161",
         "x\u0301\u0302\u0303", "e\u0301", "\u1100\u1161\u11a8", "_", "__init__", "\u2581",
         "\u2581\u2581", "\u2581x"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL",
                "'D", "'\u017f", "'x", "'", "''", "\u2019s", "'\u0130"]
DIGITS = ["0", "7", "42", "123", "1234", "12345678901", "3.14", "1,000", "\u0661\u0662\u0663",
          "\u0966\u0967", "\u00b2", "\u00bd", "\u2460", "\u2167", "\U0001d7ce\U0001d7cf",
          "\uff11\uff12", "\U00010d40\U00010d41\U00010d42\U00010d43",  # Garay digits (16.0)
          "\U0001ccf0\U0001ccf1\U0001ccf2\U0001ccf3",  # Outlined digits (16.0)
          "\U00011f50\U00011f51\U00011f52",  # Kawi digits (15.0)
          "\U0001e4f0\U0001e4f1", "\U000116d0\U000116d1", "\U0001d2c0\U0001d2c1",
          "\U0001fbf0\U0001fbf1", "\u0e50\u0e51", "\u1040\u1041"]
LETTERS_NEW = ["\U00010d50\U00010d51", "\U00016d40\U00016d41", "\U000105c0\U000105c1",
               "\U0001e5d0\U0001e5d1", "\U00011380\U00011381", "\U0001e290\U0001e291",
               "\U00011f04\U00011f05", "\U0001e030"]
MARKS = ["\u0301", "\u0308", "\u0323", "\u0345", "\u05b0", "\u0670", "\u093c", "\u0bcd",
         "\u1df6", "\u1df9", "\u1dfa", "\u1abf", "\u0d3b", "\U00011d42", "\u302a", "\u3099",
         "\u20dd", "\ufe0f", "\u200d", "\u200c", "\u0c3c", "\U0001e94a"]
EMOJI = ["\U0001f980", "\U0001f600", "\U0001f469\u200d\U0001f4bb", "\U0001f44d\U0001f3fd",
         "\U0001f1e9\U0001f1ea", "\u2764\ufe0f", "\U0001f636\u200d\U0001f32b\ufe0f",
         "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "\U0001fae8", "#\ufe0f\u20e3"]
PUNCT = [".", ",", "!", "?", "...", "!!!", "--", "---", "___", "***", "(", ")", "[", "]", "{",
         "}", "<", ">", "/", "\\", "|", "@", "#", "$", "%", "^", "&", "*", "=", "+", "~", "`",
         "\"", ":", ";", "\u00bf", "\u3002", "\uff0c", "\u2014", "\u00ab", "\u00bb", "\u2022",
         "\u00ad", "\u200b", "\ufeff", "\ufffd", "\U000e0041", "\ue000", "\ufdd0"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x1f", "\x7f", "\x80", "\x9f", "\u061c", "\u202e"]


def random_char(rng):
    r = rng.random()
    if r < 0.3:
        return chr(rng.randrange(0x20, 0x7F))
    if r < 0.45:
        return chr(rng.randrange(0xA0, 0x800))
    if r < 0.8:
        while True:
            cp = rng.randrange(0x800, 0x30000)
            if not 0xD800 <= cp < 0xE000:
                return chr(cp)
    if r < 0.9:
        return chr(rng.choice([rng.randrange(0x10000, 0x20000), rng.randrange(0xE0000, 0xE0080),
                               rng.randrange(0x0, 0x20)]))
    while True:  # any scalar value, unassigned ones included
        cp = rng.randrange(0, 0x110000)
        if not 0xD800 <= cp < 0xE000:
            return chr(cp)


def piece(rng, specials):
    k = rng.random()
    if k < 0.2:
        return rng.choice(WORDS)
    if k < 0.32:
        return rng.choice(SPACES)
    if k < 0.4:
        return rng.choice(CONTRACTIONS)
    if k < 0.5:
        return rng.choice(DIGITS)
    if k < 0.55:
        return rng.choice(LETTERS_NEW)
    if k < 0.62:
        return rng.choice(MARKS)
    if k < 0.67:
        return rng.choice(EMOJI)
    if k < 0.77:
        return rng.choice(PUNCT)
    if k < 0.8:
        return rng.choice(CONTROL)
    if k < 0.86 and specials:
        s = rng.choice(specials)
        return rng.choice([s, " " + s, s + " ", s[:-1], " " + s + "\n", s + s])
    return "".join(random_char(rng) for _ in range(rng.randrange(1, 6)))


def make_texts(rng, n, specials):
    texts = []
    for i in range(n):
        kind = i % 10
        if kind == 0:  # invalid UTF-8: repaired as errors="replace" before both sides
            b = bytearray(piece(rng, specials).encode())
            for _ in range(rng.randrange(1, 4)):
                b.insert(rng.randrange(len(b) + 1), rng.choice([0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]))
            texts.append({"bytes_hex": bytes(b).hex()})
            continue
        if kind == 1:  # one long word or run: one BPE word, long digit/space runs
            unit = rng.choice(["a", "ab", "abc", "\u4e2d", "\u0435", "1", " ", "\n", "!", "\u2581", "\U0001f980", "xyz\u0301"])
            texts.append({"text": unit * rng.randrange(50, 3000)})
            continue
        parts = [piece(rng, specials) for _ in range(rng.randrange(1, 40))]
        texts.append({"text": "".join(parts)})
    return texts


def npm(npm_dir, request):
    env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
    out = subprocess.run(["node", os.path.join(HERE, "hf_tokenizers_npm.js")], input=json.dumps(request),
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)


def case_text(c):
    if "text" in c:
        return c["text"]
    return bytes.fromhex(c["bytes_hex"]).decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", required=True, help="folder holding node_modules/tokenizers")
    ap.add_argument("--diff", required=True, help="the tokenizer_npm_diff executable")
    ap.add_argument("--tokenizers", default=os.path.join(HERE, "..", "..", "..", "shared", "tokenizers"))
    ap.add_argument("--families", nargs="+", default=FAMILIES)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", help="keep the cases files here")
    a = ap.parse_args()
    total_texts = total_bytes = total_differ = 0
    for fam in a.families:
        path = os.path.abspath(os.path.join(a.tokenizers, fam, "tokenizer.json"))
        with open(path, encoding="utf-8") as f:
            specials = [t["content"] for t in json.load(f).get("added_tokens", [])]
        rng = random.Random(f"{a.seed}-{fam}")
        cases = make_texts(rng, a.texts, specials)
        res = npm(a.npm, {"op": "encode", "tokenizer": path, "texts": [case_text(c) for c in cases]})
        for c, r in zip(cases, res["results"]["cases"]):
            c.update(r)
        doc = {"tokenizer": path, "hf_tokenizers": res["version"], "cases": cases}
        folder = a.save or tempfile.mkdtemp()
        os.makedirs(folder, exist_ok=True)
        cases_path = os.path.join(folder, f"fuzz-{fam}.json")
        with open(cases_path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        run = subprocess.run([a.diff, cases_path], capture_output=True, text=True)
        lines = run.stdout.strip().splitlines()
        summary = json.loads(lines[-1])["summary"] if lines else None
        if run.returncode == 2 or summary is None:
            sys.exit(f"{fam}: tokenizer_npm_diff failed: {run.stderr}")
        for line in lines[:-1][:5]:
            print(f"{fam} DIFF {line[:2000]}")
        print(f"{fam}: {summary['cases']} texts, {summary['bytes']} bytes, {summary['differ']} differ "
              f"(tokenizers {res['version']})", flush=True)
        total_texts += summary["cases"]
        total_bytes += summary["bytes"]
        total_differ += summary["differ"]
    print(f"total: {total_texts} texts, {total_bytes} bytes, {total_differ} differ")
    sys.exit(1 if total_differ else 0)


if __name__ == "__main__":
    main()

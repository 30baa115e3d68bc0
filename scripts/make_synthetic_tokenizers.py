#!/usr/bin/env python3
"""Make two small tokenizer.json files laid out like Qwen2's and Llama-3's, and the ids
an independent Python implementation gives for a set of texts:

  tests/data/tokenizer/qwen2-synthetic/tokenizer.json   NFC normalizer;
      Sequence[Split(Qwen2 regex, Isolated), ByteLevel(use_regex false)];
      ByteLevel post-processor and decoder; merges as "a b" strings; <|endoftext|>,
      <|im_start|>, <|im_end|> added; tokenizer_config.json with eos <|im_end|>.
  tests/data/tokenizer/llama3-synthetic/tokenizer.json  no normalizer;
      Sequence[Split(Llama-3 regex), ByteLevel]; Sequence[ByteLevel,
      TemplateProcessing(<|begin_of_text|> $A)] post-processor; ignore_merges; merges
      as [a, b] pairs; a few whole-word tokens that no merge reaches.
  tests/data/tokenizer/synthetic_expected.json  {"texts": [...], "qwen2": [[ids]...],
      "llama3": [[ids]...]} with add_special_tokens=True.

The vocabularies are learned here with a few hundred byte-level BPE merges on a small
multilingual corpus. The reference encoder below follows HF tokenizers' documented
pipeline (added tokens split first, normalizer, pre-tokenizer regex via the `regex`
module, GPT-2 byte-to-unicode mapping, lowest-rank-first merges, ignore_merges, the
post-processor); it shares no code with core/tokenizer.

    python3 scripts/make_synthetic_tokenizers.py
"""
import collections
import json
import os
import unicodedata

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "tokenizer")

QWEN2_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CORPUS = """The quick brown fox jumps over the lazy dog. It's the best thing we've seen, isn't it?
Quantization with GPTQ keeps the model's quality: the weights are rounded one column at a time.
Le café est très bon à Paris; l'été, les élèves préfèrent la crème brûlée.
Über die Straße gehen Fußgänger schnell. Ça va? Où est la gare? Déjà vu, naïve résumé.
Tiếng Việt có nhiều dấu: Việt Nam, người, được, những, nước, tiếng.
한국어 텍스트도 있습니다. 안녕하세요, 세계! 한글은 조합형 음절입니다.
中文文本也在这里。你好，世界！量化模型的权重。日本語のテキストもあります。
def encode(self, text):\n    return [self.vocab[t] for t in text.split()]  # 12345 + 678 = 13023
Numbers 2024, 3.14159, 1000000 and emoji 🦀🚀 are here too.
"""

# Whole words given ids of their own without any merge reaching them (ignore_merges).
LLAMA3_WHOLE_WORDS = ["Ġunreachable", "Ġzyzzyva", "ĠQuokka"]

TEXTS = [
    "",
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "It's the model's weights; they'RE rounded, WE'LL see.",
    "caf\u00e9 vs cafe\u0301 (NFC makes them equal)",
    "Cre\u0300me bru\u0302le\u0301e and \u00e9l\u00e8ve, \u212bngstr\u00f6m, \u2126hm",
    "Vie\u0323\u0302t Nam, ngu\u031b\u01a1\u0300i, \u0111\u01b0\u1ee3c",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af \ud55c\uad6d\uc5b4 \uc548\ub155\ud558\uc138\uc694",
    "\u4e2d\u6587\u6587\u672c\u3002\u4f60\u597d\uff0c\u4e16\u754c\uff01 \uf900\uf901",
    "a\u0301\u0323 q\u0307\u0323 \u0958 \u2adc \U0001d15e \u0f73",
    "Numbers 2024, 3.14159, 1000000 and 12345678",
    "  leading spaces\n\n\ttabs\r\nand trailing  ",
    "def encode(self, text):\n    return [self.vocab[t] for t in text.split()]",
    "emoji \U0001f980\U0001f680 and \u00ff\u0100 bytes \x00\x7f",
    "<|im_start|>user\nCaf\u00e9?<|im_end|>\n<|im_start|>assistant\nOui.<|im_end|><|endoftext|>",
    "<|begin_of_text|>Hi<|eot_id|> <|end_of_text|>",
    " unreachable zyzzyva Quokka quokka",
    "Le caf\u00e9 est tr\u00e8s bon \u00e0 Paris; l'\u00e9t\u00e9, les \u00e9l\u00e8ves pr\u00e9f\u00e8rent la cr\u00e8me br\u00fbl\u00e9e.",
]


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def byte_map(s):
    return "".join(B2U[b] for b in s.encode("utf-8"))


def train(words, n_merges):
    """Plain BPE training on byte-mapped words: merge the most frequent pair, ties by
    first occurrence order (deterministic)."""
    seqs = collections.Counter(tuple(w) for w in words)
    vocab = [B2U[b] for b in range(256)]
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for seq, c in seqs.items():
            for a, b in zip(seq, seq[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pairs[best] < 2:
            break
        merged = best[0] + best[1]
        if merged in vocab:
            continue
        merges.append(best)
        vocab.append(merged)
        new = collections.Counter()
        for seq, c in seqs.items():
            out, i = [], 0
            while i < len(seq):
                if i + 1 < len(seq) and (seq[i], seq[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(seq[i])
                    i += 1
            new[tuple(out)] += c
        seqs = new
    return vocab, merges


class Reference:
    """An independent byte-level BPE tokenizer (HF semantics) for the expected ids."""

    def __init__(self, vocab, merges, added, pattern, nfc, ignore_merges, bos):
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.added = added  # content -> id (all special, normalized false)
        self.pattern = regex.compile(pattern)
        self.nfc = nfc
        self.ignore_merges = ignore_merges
        self.bos = bos
        alts = sorted(added, key=len, reverse=True)
        self.added_re = regex.compile("|".join(regex.escape(a) for a in alts)) if alts else None

    def bpe(self, word):
        if self.ignore_merges and word in self.vocab:
            return [self.vocab[word]]
        syms = list(word)
        while len(syms) > 1:
            best, best_rank = None, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            syms[best:best + 2] = [syms[best] + syms[best + 1]]
        return [self.vocab[s] for s in syms]

    def encode_plain(self, text):
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        ids = []
        for m in self.pattern.finditer(text):
            ids += self.bpe(byte_map(m.group(0)))
        return ids

    def encode(self, text):
        ids, pos = [], 0
        if self.added_re:
            for m in self.added_re.finditer(text):
                ids += self.encode_plain(text[pos:m.start()])
                ids.append(self.added[m.group(0)])
                pos = m.end()
        ids += self.encode_plain(text[pos:])
        return ([self.bos] if self.bos is not None else []) + ids

    def decode(self, ids):
        by_id = {i: t for t, i in self.vocab.items()}
        by_id.update({i: t for t, i in self.added.items()})
        out, pending = "", bytearray()
        for i in ids:
            t = by_id[i]
            if t in self.added:
                out += pending.decode("utf-8", "replace") + t
                pending = bytearray()
            else:
                pending += bytes(U2B[c] for c in t)
        return out + pending.decode("utf-8", "replace")


def clean_up_tokenization(s):
    """transformers' clean_up_tokenization (clean_up_tokenization_spaces=True)."""
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        s = s.replace(a, b)
    return s


def model_json(vocab, merges, *, pairs, ignore_merges):
    m = {"type": "BPE", "dropout": None, "unk_token": None,
         "continuing_subword_prefix": "" if not pairs else None,
         "end_of_word_suffix": "" if not pairs else None,
         "fuse_unk": False, "byte_fallback": False}
    if ignore_merges:
        m["ignore_merges"] = True
    m["vocab"] = {t: i for i, t in enumerate(vocab)}
    m["merges"] = [[a, b] for a, b in merges] if pairs else [f"{a} {b}" for a, b in merges]
    return m


def added_json(id_, content):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def byte_level(add_prefix_space=False, trim_offsets=False, use_regex=False):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def write(dirname, name, doc):
    d = os.path.join(OUT, dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    corpus = unicodedata.normalize("NFC", CORPUS)

    # Qwen2 style.
    words = [byte_map(m.group(0)) for m in regex.finditer(QWEN2_RE, corpus)]
    vocab, merges = train(words, 300)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    added = {s: len(vocab) + k for k, s in enumerate(specials)}
    qwen = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added_json(i, s) for s, i in added.items()],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_RE}, "behavior": "Isolated", "invert": False},
            byte_level()]},
        "post_processor": byte_level(),
        "decoder": byte_level(),
        "model": model_json(vocab, merges, pairs=False, ignore_merges=False),
    }
    write("qwen2-synthetic", "tokenizer.json", qwen)
    write("qwen2-synthetic", "tokenizer_config.json",
          {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
           "clean_up_tokenization_spaces": False, "model_max_length": 32768})
    qref = Reference(vocab, merges, added, QWEN2_RE, True, False, None)

    # Llama-3 style.
    words = [byte_map(m.group(0)) for m in regex.finditer(LLAMA3_RE, corpus)]
    vocab, merges = train(words, 300)
    vocab = vocab + LLAMA3_WHOLE_WORDS
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|eot_id|>"]
    added = {s: len(vocab) + k for k, s in enumerate(specials)}
    bos = added["<|begin_of_text|>"]
    llama = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added_json(i, s) for s, i in added.items()],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_RE}, "behavior": "Isolated", "invert": False},
            byte_level(trim_offsets=True)]},
        "post_processor": {"type": "Sequence", "processors": [
            byte_level(add_prefix_space=True, use_regex=True),
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos],
                                                      "tokens": ["<|begin_of_text|>"]}}}]},
        "decoder": byte_level(add_prefix_space=True, trim_offsets=True, use_regex=True),
        "model": model_json(vocab, merges, pairs=True, ignore_merges=True),
    }
    write("llama3-synthetic", "tokenizer.json", llama)
    write("llama3-synthetic", "tokenizer_config.json",
          {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
           "clean_up_tokenization_spaces": True, "model_max_length": 131072})
    lref = Reference(vocab, merges, added, LLAMA3_RE, False, True, bos)

    expected = {"texts": TEXTS}
    for key, ref, norm, cleanup in (("qwen2", qref, True, False), ("llama3", lref, False, True)):
        ids_list, decoded = [], []
        for t in TEXTS:
            ids = ref.encode(t)
            body = ids[1:] if ref.bos is not None else ids
            want = unicodedata.normalize("NFC", t) if norm else t
            assert ref.decode(body) == want, (key, t, ref.decode(body))
            ids_list.append(ids)
            d = ref.decode(ids)
            decoded.append(clean_up_tokenization(d) if cleanup else d)
        expected[key] = ids_list
        expected[key + "_decoded"] = decoded
    with open(os.path.join(OUT, "synthetic_expected.json"), "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write('"texts": ' + json.dumps(TEXTS, ensure_ascii=False) + ",\n")
        for key in ("qwen2", "llama3"):
            f.write(f'"{key}": [\n' + ",\n".join(json.dumps(x) for x in expected[key]) + "],\n")
            f.write(f'"{key}_decoded": ' + json.dumps(expected[key + "_decoded"], ensure_ascii=False))
            f.write(",\n" if key == "qwen2" else "\n")
        f.write("}\n")


if __name__ == "__main__":
    main()

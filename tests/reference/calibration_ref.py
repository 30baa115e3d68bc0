#!/usr/bin/env python3
"""Calibration windows exactly as libgptq draws them (core/pipeline/calibration.h).

The texts are joined with "\\n\\n", tokenized once with special tokens (as
transformers' tokenizer(text) does), and window i starts at offsets[i], drawn
from SplitMix64(seed): one below(tokens - seqlen + 1) per window, in order.
A reference (e.g. a transformers GPTQ run on the GPU machine) that uses these
offsets sees the very same calibration windows as the library.

    python3 calibration_ref.py TOKENS SEQLEN NSAMPLES SEED   # prints offsets
"""
import sys

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        threshold = ((1 << 64) - n) % n
        while True:
            r = self.next()
            if r >= threshold:
                return r % n


def window_offsets(tokens, seqlen, nsamples, seed):
    if tokens < seqlen:
        raise ValueError(f"{tokens} tokens are fewer than one window of {seqlen}")
    rng = SplitMix64(seed)
    return [rng.below(tokens - seqlen + 1) for _ in range(nsamples)]


def windows(ids, seqlen, nsamples, seed):
    """The windows themselves, from the token ids of the joined text."""
    return [ids[o:o + seqlen] for o in window_offsets(len(ids), seqlen, nsamples, seed)]


if __name__ == "__main__":
    t, s, n, seed = (int(a) for a in sys.argv[1:5])
    print(window_offsets(t, s, n, seed))

#!/usr/bin/env python3
"""Builds the English text corpus the demo model is trained on, from documentation
that Debian packages ship (the recipe of ../shared/models/README.md, step 1):

  apt-get install python3.11-doc postgresql-doc-15 git-doc perl-doc wordnet-base fortunes

HTML (Python, PostgreSQL, Git docs) and Perl pod are stripped of markup, WordNet glosses
and fortunes are taken as they are; paragraphs of more than 200 characters are kept,
shuffled with a fixed seed, and written one document per paragraph, separated by blank
lines. Two small held-out samples are cut off first: calibration text and evaluation
text for the demo (they are never trained on).

  tools/build_demo_corpus.py --out DIR [--max-mb 12]
writes DIR/train.txt, DIR/calib.txt, DIR/eval.txt and DIR/SOURCES.txt (byte counts per
source). Standard library only.
"""
import argparse
import glob
import html.parser
import os
import random
import re

BLOCK_TAGS = {"p", "div", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt",
              "td", "th", "tr", "table", "section", "blockquote", "br", "title"}
SKIP_TAGS = {"script", "style", "head"}


class HtmlText(html.parser.HTMLParser):
    """Text of an HTML page, with a paragraph break at every block element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_TAGS:
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in SKIP_TAGS and self.skip:
            self.skip -= 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def paragraphs(text):
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if len(para) > 200:
            yield para


def from_html(pattern):
    for path in sorted(glob.glob(pattern, recursive=True)):
        p = HtmlText()
        try:
            p.feed(open(path, encoding="utf-8", errors="replace").read())
        except Exception:  # a malformed page is skipped, not fatal
            continue
        yield from paragraphs("".join(p.parts))


POD_CODE = re.compile(r"[A-Z]<<+\s(.*?)\s>>+|[A-Z]<([^<>]*)>")


def from_pod(pattern):
    for path in sorted(glob.glob(pattern)):
        text = open(path, encoding="utf-8", errors="replace").read()
        text = re.sub(r"^=\w+.*$", "", text, flags=re.M)   # =head1, =item, ...
        for _ in range(3):                                  # nested B<C<...>>
            text = POD_CODE.sub(lambda m: m.group(1) or m.group(2) or "", text)
        # Verbatim (indented) blocks are code: keep prose only.
        text = "\n".join(l for l in text.split("\n") if not l.startswith((" ", "\t")))
        yield from paragraphs(text)


def from_wordnet(pattern):
    for path in sorted(glob.glob(pattern)):
        for line in open(path, encoding="utf-8", errors="replace"):
            if "|" in line and not line.startswith(" "):
                gloss = line.split("|", 1)[1].strip()
                if len(gloss) > 200:
                    yield gloss


def from_fortunes(pattern):
    for path in sorted(glob.glob(pattern)):
        if path.endswith((".dat", ".u8")) or os.path.isdir(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        for f in text.split("\n%\n"):
            yield from paragraphs(f)


SOURCES = [
    ("python3.11-doc", from_html, "/usr/share/doc/python3.11/html/**/*.html"),
    ("postgresql-doc-15", from_html, "/usr/share/doc/postgresql-doc-15/html/*.html"),
    ("git-doc", from_html, "/usr/share/doc/git-doc/*.html"),
    ("perl-doc", from_pod, "/usr/share/perl/5.36/pod/*.pod"),
    ("wordnet-base", from_wordnet, "/usr/share/wordnet/data.*"),
    ("fortunes", from_fortunes, "/usr/share/games/fortunes/*"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-mb", type=float, default=12.0, help="cap on train.txt")
    ap.add_argument("--calib-kb", type=int, default=120)
    ap.add_argument("--eval-kb", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    docs, counts = [], {}
    for name, fn, pattern in SOURCES:
        got = list(dict.fromkeys(fn(pattern)))  # drop exact duplicates, keep order
        counts[name] = (len(got), sum(len(d) for d in got))
        docs.extend(got)
    if not docs:
        raise SystemExit("no documents found: install the packages named in this script's header")
    random.Random(a.seed).shuffle(docs)

    def take(limit_bytes):
        out, size = [], 0
        while docs and size < limit_bytes:
            d = docs.pop()
            out.append(d)
            size += len(d.encode()) + 2
        return out

    os.makedirs(a.out, exist_ok=True)
    for name, kb in (("calib.txt", a.calib_kb), ("eval.txt", a.eval_kb)):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write("\n\n".join(take(kb * 1024)) + "\n")
    with open(os.path.join(a.out, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(take(int(a.max_mb * 1024 * 1024))) + "\n")
    with open(os.path.join(a.out, "SOURCES.txt"), "w") as f:
        for name, (n, size) in counts.items():
            f.write(f"{name}: {n} paragraphs, {size} characters\n")
    print(open(os.path.join(a.out, "SOURCES.txt")).read(), end="")


if __name__ == "__main__":
    main()

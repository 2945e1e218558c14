// GPT-2 pre-tokenization and BERT normalization + pre-tokenization, with an ASCII fast path.
#include "ptm/data/pretokenize.h"

#include <array>

#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

enum class Cls : uint8_t { kLetter, kNumber, kSpace, kOther };

struct AsciiClasses {
  std::array<Cls, 128> v{};
  AsciiClasses() {
    for (uint32_t c = 0; c < 128; ++c) {
      const uint32_t f = unicode::flags(c);
      v[c] = (f & unicode::kLetter)       ? Cls::kLetter
             : (f & unicode::kNumber)     ? Cls::kNumber
             : (f & unicode::kWhiteSpace) ? Cls::kSpace
                                          : Cls::kOther;
    }
  }
};
const AsciiClasses& ascii_classes() {
  static const AsciiClasses table;  // built on first use, not at program start
  return table;
}

inline Cls gpt2_class(const AsciiClasses& ascii, const unsigned char* s, size_t n, size_t& len) {
  if (s[0] < 0x80) {
    len = 1;
    return ascii.v[s[0]];
  }
  const uint32_t cp = unicode::decode_utf8(s, n, len);
  if (cp == unicode::kInvalid) return Cls::kOther;
  const uint32_t f = unicode::flags(cp);
  if (f & unicode::kLetter) return Cls::kLetter;
  if (f & unicode::kNumber) return Cls::kNumber;
  if (f & unicode::kWhiteSpace) return Cls::kSpace;
  return Cls::kOther;
}

// Length of a GPT-2 contraction ('s 't 're 've 'm 'll 'd) at s[0..n), or 0.
inline size_t contraction(const unsigned char* s, size_t n) {
  if (n < 2 || s[0] != '\'') return 0;
  const unsigned char a = s[1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (n >= 3 && ((a == 'r' && s[2] == 'e') || (a == 'v' && s[2] == 'e') || (a == 'l' && s[2] == 'l'))) return 3;
  return 0;
}

}  // namespace

void split_gpt2(std::string_view text, std::vector<std::string_view>& pieces) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const AsciiClasses& ascii = ascii_classes();
  size_t i = 0;
  while (i < n) {
    if (const size_t m = contraction(s + i, n - i)) {
      pieces.emplace_back(text.data() + i, m);
      i += m;
      continue;
    }
    size_t len = 0;
    const Cls c = gpt2_class(ascii, s + i, n - i, len);
    size_t j = i;  // where the run of one class starts (after an optional leading ' ')
    Cls target = c;
    if (c == Cls::kSpace) {
      if (s[i] == ' ' && i + 1 < n) {
        size_t len2 = 0;
        const Cls c2 = gpt2_class(ascii, s + i + 1, n - i - 1, len2);
        if (c2 != Cls::kSpace) {
          target = c2;
          j = i + 1;
          len = len2;
        }
      }
    }
    if (target != Cls::kSpace) {  // ` ?\p{L}+`, ` ?\p{N}+` or ` ?[^\s\p{L}\p{N}]+`
      j += len;
      while (j < n) {
        size_t l = 0;
        if (gpt2_class(ascii, s + j, n - j, l) != target) break;
        j += l;
      }
      pieces.emplace_back(text.data() + i, j - i);
      i = j;
      continue;
    }
    // Whitespace: `\s+(?!\S)` takes the run except its last character when a non-space follows
    // (that character then starts the next piece); `\s+` takes a lone one.
    size_t last = i;  // start of the last whitespace character of the run
    j = i + len;
    while (j < n) {
      size_t l = 0;
      if (gpt2_class(ascii, s + j, n - j, l) != Cls::kSpace) break;
      last = j;
      j += l;
    }
    const size_t end = (j == n || last == i) ? j : last;
    pieces.emplace_back(text.data() + i, end - i);
    i = end;
  }
}

namespace {

// ASCII under BertNormalizer + BertPreTokenizer: dropped, space, punctuation, or a word character.
enum class Bert : uint8_t { kDrop, kSpace, kPunct, kWord };

struct BertAscii {
  std::array<Bert, 128> clean{}, raw{};
  BertAscii() {
    for (uint32_t c = 0; c < 128; ++c) {
      const uint32_t f = unicode::flags(c);
      raw[c] = (f & unicode::kWhiteSpace) ? Bert::kSpace : (f & unicode::kBertPunctuation) ? Bert::kPunct : Bert::kWord;
      clean[c] = (f & unicode::kBertDrop) ? Bert::kDrop : raw[c];
    }
  }
};
const BertAscii& bert_ascii() {
  static const BertAscii table;
  return table;
}

void bert_words_ascii(std::string_view text, const BertNormalizerOptions& o, std::string& buffer,
                      std::vector<std::pair<uint32_t, uint32_t>>& words) {
  const auto& table = o.clean_text ? bert_ascii().clean : bert_ascii().raw;
  uint32_t start = static_cast<uint32_t>(buffer.size());
  auto close = [&] {
    const auto end = static_cast<uint32_t>(buffer.size());
    if (end > start) words.emplace_back(start, end);
    start = end;
  };
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (table[c]) {
      case Bert::kDrop:
        break;
      case Bert::kSpace:
        close();
        break;
      case Bert::kPunct:
        close();
        buffer.push_back(ch);
        close();
        break;
      case Bert::kWord:
        buffer.push_back(o.lowercase && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch);
        break;
    }
  }
  close();
}

}  // namespace

void bert_words(std::string_view text, const BertNormalizerOptions& o, std::string& buffer,
                std::vector<std::pair<uint32_t, uint32_t>>& words) {
  bool ascii = true;
  for (const char ch : text) ascii &= static_cast<unsigned char>(ch) < 0x80;
  if (ascii) {
    bert_words_ascii(text, o, buffer, words);
    return;
  }
  // General path on code points: clean, CJK, NFD + drop Mn, lower-case, then split.
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::vector<uint32_t> cps, tmp;
  cps.reserve(text.size() + 8);
  for (size_t i = 0, len = 0; i < text.size(); i += len) {
    uint32_t cp = unicode::decode_utf8(s + i, text.size() - i, len);
    if (cp == unicode::kInvalid) cp = unicode::kReplacement;
    const uint32_t f = unicode::flags(cp);
    if (o.clean_text) {
      if (f & unicode::kBertDrop) continue;
      if (f & unicode::kWhiteSpace) cp = ' ';
    }
    if (o.handle_chinese_chars && (f & unicode::kCjk)) {
      cps.push_back(' ');
      cps.push_back(cp);
      cps.push_back(' ');
    } else {
      cps.push_back(cp);
    }
  }
  if (o.strip_accents) {
    tmp.clear();
    for (const uint32_t cp : cps) {
      if (unicode::flags(cp) & unicode::kHasDecomposition)
        unicode::append_decomposition(cp, tmp);
      else
        tmp.push_back(cp);
    }
    unicode::canonical_order(tmp);
    cps.clear();
    for (const uint32_t cp : tmp)
      if (!(unicode::flags(cp) & unicode::kNonspacingMark)) cps.push_back(cp);
  }
  if (o.lowercase) {
    tmp.clear();
    for (const uint32_t cp : cps) {
      if (unicode::flags(cp) & unicode::kHasLowercase)
        unicode::append_lowercase(cp, tmp);
      else
        tmp.push_back(cp);
    }
    cps.swap(tmp);
  }
  uint32_t start = static_cast<uint32_t>(buffer.size());
  auto close = [&] {
    const auto end = static_cast<uint32_t>(buffer.size());
    if (end > start) words.emplace_back(start, end);
    start = end;
  };
  for (const uint32_t cp : cps) {
    const uint32_t f = unicode::flags(cp);
    if (f & unicode::kWhiteSpace) {
      close();
    } else if (f & unicode::kBertPunctuation) {
      close();
      unicode::append_utf8(buffer, cp);
      close();
    } else {
      unicode::append_utf8(buffer, cp);
    }
  }
  close();
}

}  // namespace ptm::data

// Character classes, NFD and lower-casing over the generated Unicode tables. The Basic
// Multilingual Plane has a flat flag table (built once); other planes use binary search.
#include "ptm/data/unicode.h"

#include <algorithm>
#include <array>
#include <memory>

#include "ptm/data/unicode_tables.h"

namespace ptm::data::unicode {
namespace {

namespace t = unicode_tables;

bool in_ranges(const t::Range* r, size_t n, uint32_t cp) {
  const t::Range* end = r + n;
  const t::Range* it = std::upper_bound(r, end, cp, [](uint32_t v, const t::Range& x) { return v < x.lo; });
  return it != r && cp <= (it - 1)->hi;
}

const t::Mapping* find_mapping(const t::Mapping* m, size_t n, uint32_t cp) {
  const t::Mapping* end = m + n;
  const t::Mapping* it = std::lower_bound(m, end, cp, [](const t::Mapping& x, uint32_t v) { return x.cp < v; });
  return it != end && it->cp == cp ? it : nullptr;
}

constexpr uint32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr uint32_t kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7, kVCount = 21, kTCount = 28;

uint32_t compute_flags(uint32_t cp) {
  uint32_t f = 0;
  if (in_ranges(t::kLetter, t::kLetterSize, cp)) f |= kLetter;
  if (in_ranges(t::kNumber, t::kNumberSize, cp)) f |= kNumber;
  if (in_ranges(t::kWhiteSpace, t::kWhiteSpaceSize, cp)) f |= kWhiteSpace;
  if (in_ranges(t::kBertPunctuation, t::kBertPunctuationSize, cp)) f |= kBertPunctuation;
  if (in_ranges(t::kBertDrop, t::kBertDropSize, cp)) f |= kBertDrop;
  if (in_ranges(t::kNonspacingMark, t::kNonspacingMarkSize, cp)) f |= kNonspacingMark;
  if (in_ranges(t::kCjk, t::kCjkSize, cp)) f |= kCjk;
  if (in_ranges(t::kWord, t::kWordSize, cp)) f |= kWord;
  if (in_ranges(t::kUppercaseLetter, t::kUppercaseLetterSize, cp)) f |= kUppercaseLetter;
  if (in_ranges(t::kLowercaseLetter, t::kLowercaseLetterSize, cp)) f |= kLowercaseLetter;
  if (in_ranges(t::kTitlecaseLetter, t::kTitlecaseLetterSize, cp)) f |= kTitlecaseLetter;
  if (in_ranges(t::kModifierLetter, t::kModifierLetterSize, cp)) f |= kModifierLetter;
  if (in_ranges(t::kOtherLetter, t::kOtherLetterSize, cp)) f |= kOtherLetter;
  if (in_ranges(t::kMark, t::kMarkSize, cp)) f |= kMark;
  if (in_ranges(t::kPunctuation, t::kPunctuationSize, cp)) f |= kPunctuation;
  if (in_ranges(t::kSymbol, t::kSymbolSize, cp)) f |= kSymbol;
  if ((cp >= kHangulBase && cp < kHangulBase + kHangulCount) ||
      find_mapping(t::kDecomposition, t::kDecompositionSize, cp))
    f |= kHasDecomposition;
  if (find_mapping(t::kLowercase, t::kLowercaseSize, cp)) f |= kHasLowercase;
  if (combining_class(cp) != 0) f |= kCombining;
  return f;
}

struct BmpFlags {
  std::array<uint32_t, 0x10000> v;
  BmpFlags() {
    for (uint32_t cp = 0; cp < 0x10000; ++cp) v[cp] = compute_flags(cp);
  }
};

const BmpFlags& bmp_flags() {
  static const auto* table = new BmpFlags();  // built once, never freed (used until exit)
  return *table;
}

}  // namespace

uint32_t flags(uint32_t cp) {
  if (cp < 0x10000) return bmp_flags().v[cp];
  if (cp > 0x10FFFF) return 0;
  return compute_flags(cp);
}

uint8_t combining_class(uint32_t cp) {
  const t::CccRange* r = t::kCombiningClass;
  const t::CccRange* end = r + t::kCombiningClassSize;
  const t::CccRange* it = std::upper_bound(r, end, cp, [](uint32_t v, const t::CccRange& x) { return v < x.lo; });
  return it != r && cp <= (it - 1)->hi ? (it - 1)->ccc : 0;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0, len = 0;
  while (i < s.size()) {
    if (decode_utf8(p + i, s.size() - i, len) == kInvalid) return false;
    i += len;
  }
  return true;
}

void append_decomposition(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const uint32_t s = cp - kHangulBase;
    out.push_back(kLBase + s / (kVCount * kTCount));
    out.push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (const t::Mapping* m = find_mapping(t::kDecomposition, t::kDecompositionSize, cp)) {
    out.insert(out.end(), t::kDecompositionPool + m->offset, t::kDecompositionPool + m->offset + m->length);
  } else {
    out.push_back(cp);
  }
}

void canonical_order(std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j),
                       [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

void append_lowercase(uint32_t cp, std::vector<uint32_t>& out) {
  if (const t::Mapping* m = find_mapping(t::kLowercase, t::kLowercaseSize, cp)) {
    out.insert(out.end(), t::kLowercasePool + m->offset, t::kLowercasePool + m->offset + m->length);
  } else {
    out.push_back(cp);
  }
}

const char* tables_source() { return t::kSource; }

}  // namespace ptm::data::unicode

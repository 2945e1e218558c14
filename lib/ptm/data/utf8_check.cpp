// Invalid UTF-8 in corpus text (see utf8_check.h).
#include "ptm/data/utf8_check.h"

#include "ptm/core/errors.h"
#include "ptm/data/unicode.h"

namespace ptm::data {

Utf8Policy utf8_policy(const std::string& name) {
  if (name == "replace") return Utf8Policy::kReplace;
  if (name == "skip") return Utf8Policy::kSkip;
  if (name == "error") return Utf8Policy::kError;
  throw ConfigError(Origin{}, "prepare.invalid_utf8", "'" + name + "' is not one of: replace, skip, error");
}

size_t invalid_utf8_length(const unsigned char* s, size_t n, bool* truncated) {
  const unsigned c0 = s[0];
  const size_t need = c0 >= 0xC2 && c0 <= 0xDF ? 1 : c0 >= 0xE0 && c0 <= 0xEF ? 2 : c0 >= 0xF0 && c0 <= 0xF4 ? 3 : 0;
  size_t len = 1;
  bool cut = false;
  for (size_t k = 1; k <= need; ++k) {
    if (k >= n) {
      cut = true;
      break;
    }
    const unsigned c = s[k];
    unsigned lo = 0x80, hi = 0xBF;
    if (k == 1 && c0 == 0xE0) lo = 0xA0;
    if (k == 1 && c0 == 0xED) hi = 0x9F;
    if (k == 1 && c0 == 0xF0) lo = 0x90;
    if (k == 1 && c0 == 0xF4) hi = 0x8F;
    if (c < lo || c > hi) break;
    len = k + 1;
  }
  if (truncated) *truncated = cut;
  return len;
}

void Utf8Check::feed(std::string& block, bool last) {
  std::string joined;
  if (!carry_.empty()) {
    joined = std::move(carry_) + block;
    carry_.clear();
  }
  const std::string& d = joined.empty() ? block : joined;
  const auto* s = reinterpret_cast<const unsigned char*>(d.data());
  const size_t n = d.size();
  std::string out;
  size_t i = 0, copied = 0, hold = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    if (unicode::decode_utf8(s + i, n - i, len) != unicode::kInvalid) {
      i += len;
      continue;
    }
    bool truncated = false;
    len = invalid_utf8_length(s + i, n - i, &truncated);
    if (truncated && !last) {
      hold = n - i;
      break;
    }
    ++invalid_;
    if (first_ < 0) first_ = offset_ + static_cast<int64_t>(i);
    if (replace_) {
      out.append(d, copied, i - copied);
      unicode::append_utf8(out, unicode::kReplacement);
      copied = i + len;
    }
    i += len;
  }
  const size_t end = n - hold;
  offset_ += static_cast<int64_t>(end);
  if (!replace_) {
    carry_.assign(d, end, hold);  // looked at again with the next block; `block` stays whole
    return;
  }
  std::string tail = d.substr(end);
  if (copied > 0 || !joined.empty() || hold > 0) {
    out.append(d, copied, end - copied);
    block = std::move(out);
  }
  carry_ = std::move(tail);
}

}  // namespace ptm::data

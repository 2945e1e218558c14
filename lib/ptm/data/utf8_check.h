// Bytes that are not UTF-8 in corpus text, and what `ptm data prepare` does with them (recipe
// key invalid_utf8): replace each maximal invalid sequence by U+FFFD (Unicode's recommended
// practice, as Python's decode(errors="replace") and Rust's from_utf8_lossy do: the text
// `tokenizers` gets of such a file in Python), skip the document, or stop with an error naming
// the file and position. Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ptm::data {

enum class Utf8Policy { kReplace, kSkip, kError };
Utf8Policy utf8_policy(const std::string& name);  // "replace" | "skip" | "error"

// At s[0], where a valid character does not start: the length of the maximal prefix of a
// valid sequence (at least 1), replaced as one U+FFFD. `truncated`: that prefix runs to the
// end of the n bytes (more bytes could complete it).
size_t invalid_utf8_length(const unsigned char* s, size_t n, bool* truncated = nullptr);

// Checks one text given in blocks. An incomplete sequence at a block's end waits for the next
// block (or `last`), so the result does not depend on where the blocks end.
class Utf8Check {
 public:
  explicit Utf8Check(bool replace) : replace_(replace) {}
  // replace: rewrites `block` in place (a held-back tail moves to the front of the next block);
  // otherwise leaves it as it is and only counts.
  void feed(std::string& block, bool last);
  int64_t invalid() const { return invalid_; }  // invalid sequences so far
  int64_t first_at() const { return first_; }   // byte offset in the text of the first; -1: none

 private:
  bool replace_;
  std::string carry_;
  int64_t offset_ = 0, invalid_ = 0, first_ = -1;
};

}  // namespace ptm::data

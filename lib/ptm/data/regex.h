// A small backtracking regex engine for the `Split` pre-tokenizer patterns of tokenizer.json
// files (Llama 3, Qwen2, GPT-2 written out, ...), with Oniguruma's leftmost-first semantics as
// `tokenizers` runs them, over ptm's Unicode tables (no regex library).
//
// Supported: literals and escapes (\r \n \t \f \v \x{..} \uHHHH, escaped punctuation), '.',
// classes [...] with ranges and negation, \s \S \p{L} \p{N} \P{L} \P{N} (in and out of
// classes), groups (...) (?:...), case-insensitive (?i:...) and (?i) on ASCII letters,
// lookahead (?=...) (?!...), alternation, and the quantifiers ? * + {n} {n,} {n,m} (greedy or
// lazy). Anything else (\d, \w, \b, anchors, other properties, backreferences, lookbehind) is
// refused with RegexError: its classes would need tables ptm has not checked against `tokenizers`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ptm::data {

struct RegexError : std::runtime_error {
  RegexError(size_t position, const std::string& message)
      : std::runtime_error("at character " + std::to_string(position) + ": " + message), position(position) {}
  size_t position;
};

class Regex {
 public:
  // Throws RegexError for syntax outside the subset above, and for a pattern that can match
  // the empty string (no tokenizer needs one; it would make splitting ill-defined).
  explicit Regex(std::string_view pattern);

  // The leftmost match starting at or after `from` (a character boundary): [begin, end).
  // Bytes that are not valid UTF-8 are one character each, of no class (as split_gpt2).
  bool search(std::string_view text, size_t from, size_t& begin, size_t& end) const;

  struct Class {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive
    uint32_t flags = 0;      // unicode::Flag bits whose members match (\s \p{L} \p{Lu} ...)
    uint32_t not_flags = 0;  // unicode::Flag bits whose non-members match (\S \P{L} ...)
    bool negated = false;
    bool any = false;  // '.': every character but '\n'
    bool matches(uint32_t cp) const;
  };
  enum class Op : uint8_t { kClass, kSplit, kJmp, kLook, kMatch };
  struct Inst {
    Inst(Op op, int32_t x = 0, int32_t y = 0, int32_t cls = -1, bool negative = false)
        : op(op), x(x), y(y), cls(cls), negative(negative) {}
    Op op;
    int32_t x = 0, y = 0;  // kSplit: preferred x, then y; kJmp: x; kLook: sub-program at x, continue at y
    int32_t cls = -1;      // kClass; kSplit and kLook: their index among the branch points
    bool negative = false;  // kLook: (?!...)
  };

 private:
  // Backtracking spends more than a budget of steps on patterns like (a+)+b: then states
  // (branch point, position) already explored are remembered (all failed: no backreferences,
  // and a lookahead runs with its own memo), which bounds the work by branch points x text
  // length (unless that table would pass 512 MB).
  struct Memo {
    size_t steps = 0;
    std::vector<uint64_t> seen;  // empty until the budget is spent
  };
  bool run(int32_t pc, std::string_view text, size_t sp, size_t& end, Memo& memo) const;

  std::vector<Inst> prog_;
  std::vector<Class> classes_;
  size_t branch_points_ = 0;
};

}  // namespace ptm::data

// Parser (pattern -> tree), compiler (tree -> backtracking program) and matcher of Regex.
#include "ptm/data/regex.h"

#include <algorithm>

#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

constexpr int32_t kInf = -1;

struct Node {
  enum class Kind { kClass, kCat, kAlt, kRepeat, kLook } kind = Kind::kCat;
  int32_t cls = -1;
  std::vector<Node> kids;
  int32_t min = 0, max = 0;  // kRepeat; max kInf for no limit
  bool greedy = true;
  bool negative = false;  // kLook
};

Node make(Node::Kind kind) {
  Node n;
  n.kind = kind;
  return n;
}

bool nullable(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kClass:
      return false;
    case Node::Kind::kCat:
      return std::all_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::Kind::kAlt:
      return std::any_of(n.kids.begin(), n.kids.end(), nullable);
    case Node::Kind::kRepeat:
      return n.min == 0 || nullable(n.kids[0]);
    case Node::Kind::kLook:
      return true;
  }
  return true;
}

bool is_hex(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
uint32_t hex_value(uint32_t c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }
bool is_ascii_alnum(uint32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

class Parser {
 public:
  Parser(std::string_view pattern, std::vector<Regex::Class>& classes) : classes_(classes) {
    const auto* s = reinterpret_cast<const unsigned char*>(pattern.data());
    for (size_t i = 0, len = 0; i < pattern.size(); i += len) {
      const uint32_t cp = unicode::decode_utf8(s + i, pattern.size() - i, len);
      if (cp == unicode::kInvalid) throw RegexError(p_.size(), "the pattern is not valid UTF-8");
      p_.push_back(cp);
    }
  }

  Node parse() {
    Node n = alternation();
    if (i_ < p_.size()) throw RegexError(i_, "unbalanced ')'");
    return n;
  }

 private:
  bool more() const { return i_ < p_.size(); }
  uint32_t peek() const { return p_[i_]; }
  bool eat(uint32_t c) {
    if (more() && peek() == c) return ++i_, true;
    return false;
  }

  Node alternation() {
    Node alt = make(Node::Kind::kAlt);
    alt.kids.push_back(sequence());
    while (eat('|')) alt.kids.push_back(sequence());
    return alt.kids.size() == 1 ? std::move(alt.kids[0]) : alt;
  }

  Node sequence() {
    Node cat = make(Node::Kind::kCat);
    while (more() && peek() != '|' && peek() != ')') {
      const size_t at = i_;
      Node a;
      if (!atom(a)) {  // a flag group such as (?i) that matches nothing
        // Oniguruma reads a(?i)b|c as a(?i:b|c), Perl as (?:a(?i)b)|c: only at a branch's start
        // do they agree.
        if (!cat.kids.empty()) throw RegexError(at, "(?i) after the start of a branch is not supported");
        continue;
      }
      quantifier(a, at);
      cat.kids.push_back(std::move(a));
    }
    return cat.kids.size() == 1 ? std::move(cat.kids[0]) : cat;
  }

  // False for an inline flag group, which changes the flags of the rest of the enclosing group.
  bool atom(Node& out) {
    const size_t at = i_;
    const uint32_t c = p_[i_++];
    if (c == '(') {
      if (++depth_ > 100) throw RegexError(at, "groups nested more than 100 deep");
      const bool saved = icase_;
      Node::Kind kind = Node::Kind::kCat;
      bool negative = false;
      if (eat('?')) {
        if (eat(':')) {
        } else if (eat('=') || (negative = eat('!'))) {
          kind = Node::Kind::kLook;
        } else if (more() && peek() == 'i') {
          ++i_;
          if (eat(')')) {
            icase_ = true;  // (?i): to the end of the enclosing group
            return false;
          }
          if (!eat(':')) throw RegexError(at, "unsupported group syntax (expected (?i:...) or (?i))");
          icase_ = true;
        } else {
          throw RegexError(at, "unsupported group syntax (ptm knows (?:...), (?i:...), (?=...) and (?!...))");
        }
      }
      Node inner = alternation();
      if (!eat(')')) throw RegexError(at, "unclosed '('");
      --depth_;
      icase_ = saved;
      if (kind == Node::Kind::kLook) {
        out = make(Node::Kind::kLook);
        out.negative = negative;
        out.kids.push_back(std::move(inner));
      } else {
        out = std::move(inner);
      }
      return true;
    }
    if (c == ')') throw RegexError(at, "unbalanced ')'");
    if (c == '*' || c == '+' || c == '?' || c == '{') throw RegexError(at, "a quantifier with nothing before it");
    if (c == '^' || c == '$') throw RegexError(at, "anchors (^ $) are not supported");
    Regex::Class cls;
    if (c == '[') {
      cls = bracket(at);
    } else if (c == '.') {
      cls.any = true;
    } else if (c == '\\') {
      escape(cls, false);
    } else {
      literal(cls, c, at);
    }
    out = make(Node::Kind::kClass);
    out.cls = static_cast<int32_t>(classes_.size());
    classes_.push_back(std::move(cls));
    return true;
  }

  void quantifier(Node& a, size_t at) {
    if (!more()) return;
    int32_t min = 0, max = 0;
    const uint32_t c = peek();
    if (c == '?') {
      min = 0, max = 1;
    } else if (c == '*') {
      min = 0, max = kInf;
    } else if (c == '+') {
      min = 1, max = kInf;
    } else if (c == '{') {
      size_t j = i_ + 1;
      auto number = [&](int32_t& v) {
        const size_t start = j;
        v = 0;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9' && v < 100000) v = v * 10 + static_cast<int32_t>(p_[j++] - '0');
        return j > start;
      };
      if (!number(min)) throw RegexError(i_, "expected {n}, {n,} or {n,m}");
      max = min;
      if (j < p_.size() && p_[j] == ',') {
        ++j;
        if (!number(max)) max = kInf;
      }
      if (j >= p_.size() || p_[j] != '}') throw RegexError(i_, "expected {n}, {n,} or {n,m}");
      if (min > 1000 || (max != kInf && (max > 1000 || max < min)))
        throw RegexError(i_, "repetition counts must be at most 1000, with n <= m");
      i_ = j;
    } else {
      return;
    }
    ++i_;
    bool greedy = true;
    if (eat('?')) greedy = false;
    if (more() && (peek() == '+' || peek() == '*' || peek() == '{'))
      throw RegexError(i_, "possessive or repeated quantifiers are not supported");
    if (max != 1 && nullable(a)) throw RegexError(at, "a repeated part that can match the empty string");
    Node r = make(Node::Kind::kRepeat);
    r.min = min, r.max = max, r.greedy = greedy;
    r.kids.push_back(std::move(a));
    a = std::move(r);
  }

  // One literal character (with its ASCII case partners under (?i)).
  void literal(Regex::Class& cls, uint32_t c, size_t at) {
    add_range(cls, c, c, at);
  }

  void add_range(Regex::Class& cls, uint32_t lo, uint32_t hi, size_t at) {
    cls.ranges.emplace_back(lo, hi);
    if (!icase_) return;
    if (hi > 0x7F) {
      for (uint32_t c = std::max<uint32_t>(lo, 0x80); c <= hi && c < 0x110000; ++c)
        if (unicode::flags(c) & unicode::kLetter)
          throw RegexError(at, "case-insensitive matching of non-ASCII letters is not supported");
    }
    for (uint32_t c = lo; c <= std::min<uint32_t>(hi, 0x7F); ++c) {
      const uint32_t lower = c | 0x20;
      if (lower < 'a' || lower > 'z') continue;
      cls.ranges.emplace_back(lower, lower);
      cls.ranges.emplace_back(lower - 0x20, lower - 0x20);
      if (lower == 's') cls.ranges.emplace_back(0x17F, 0x17F);    // LATIN SMALL LETTER LONG S folds to s
      if (lower == 'k') cls.ranges.emplace_back(0x212A, 0x212A);  // KELVIN SIGN folds to k
    }
  }

  // After '\': a property or class escape adds its flags; anything else is one character,
  // returned (and added unless in_bracket, where it may start a range).
  bool escape(Regex::Class& cls, bool in_bracket, uint32_t* single = nullptr) {
    const size_t at = i_ - 1;
    if (!more()) throw RegexError(at, "a '\\' at the end of the pattern");
    const uint32_t c = p_[i_++];
    auto prop = [&](bool negated) {
      std::u32string name;
      if (eat('{')) {
        while (more() && peek() != '}') name.push_back(p_[i_++]);
        if (!eat('}')) throw RegexError(at, "unclosed \\p{");
      } else if (more()) {
        name.push_back(p_[i_++]);
      }
      // General categories by their short and long names; each table is read off tokenizers.
      static const std::pair<std::u32string, uint32_t> known[] = {
          {U"L", unicode::kLetter},           {U"Letter", unicode::kLetter},
          {U"N", unicode::kNumber},           {U"Number", unicode::kNumber},
          {U"Lu", unicode::kUppercaseLetter}, {U"Uppercase_Letter", unicode::kUppercaseLetter},
          {U"Ll", unicode::kLowercaseLetter}, {U"Lowercase_Letter", unicode::kLowercaseLetter},
          {U"Lt", unicode::kTitlecaseLetter}, {U"Titlecase_Letter", unicode::kTitlecaseLetter},
          {U"Lm", unicode::kModifierLetter},  {U"Modifier_Letter", unicode::kModifierLetter},
          {U"Lo", unicode::kOtherLetter},     {U"Other_Letter", unicode::kOtherLetter},
          {U"M", unicode::kMark},             {U"Mark", unicode::kMark},
          {U"P", unicode::kPunctuation},      {U"Punctuation", unicode::kPunctuation},
          {U"S", unicode::kSymbol},           {U"Symbol", unicode::kSymbol},
      };
      uint32_t flag = 0;
      for (const auto& [known_name, known_flag] : known)
        if (name == known_name) flag = known_flag;
      if (!flag)
        throw RegexError(at, "unsupported Unicode property (ptm knows \\p{L} \\p{Lu} \\p{Ll} \\p{Lt} \\p{Lm} "
                             "\\p{Lo} \\p{N} \\p{M} \\p{P} \\p{S}, checked against tokenizers)");
      (negated ? cls.not_flags : cls.flags) |= flag;
    };
    uint32_t ch = 0;
    switch (c) {
      case 's': cls.flags |= unicode::kWhiteSpace; return false;
      case 'S': cls.not_flags |= unicode::kWhiteSpace; return false;
      case 'p': prop(false); return false;
      case 'P': prop(true); return false;
      case 'r': ch = '\r'; break;
      case 'n': ch = '\n'; break;
      case 't': ch = '\t'; break;
      case 'f': ch = '\f'; break;
      case 'v': ch = '\v'; break;
      case 'x': {
        int digits = 0;
        if (eat('{')) {
          while (more() && is_hex(peek()) && digits < 8) ch = ch * 16 + hex_value(p_[i_++]), ++digits;
          if (!eat('}') || digits == 0) throw RegexError(at, "expected \\x{HEX}");
        } else {
          while (more() && is_hex(peek()) && digits < 2) ch = ch * 16 + hex_value(p_[i_++]), ++digits;
          if (digits == 0) throw RegexError(at, "expected \\xHH");
        }
        break;
      }
      case 'u': {
        for (int k = 0; k < 4; ++k) {
          if (!more() || !is_hex(peek())) throw RegexError(at, "expected \\uHHHH");
          ch = ch * 16 + hex_value(p_[i_++]);
        }
        break;
      }
      default:
        if (is_ascii_alnum(c))
          throw RegexError(at, std::string("unsupported escape \\") + static_cast<char>(c) +
                                   " (ptm knows \\s \\S \\p{..} \\P{..} \\r \\n \\t \\f \\v \\x \\u)");
        ch = c;
    }
    if (ch > 0x10FFFF) throw RegexError(at, "code point out of range");
    if (single) *single = ch;
    if (!in_bracket) literal(cls, ch, at);
    return true;
  }

  Regex::Class bracket(size_t at) {
    Regex::Class cls;
    if (eat('^')) cls.negated = true;
    bool first = true;
    for (;;) {
      if (!more()) throw RegexError(at, "unclosed '['");
      const size_t here = i_;
      uint32_t c = p_[i_++];
      if (c == ']' && !first) break;
      first = false;
      if (c == '[') throw RegexError(here, "nested classes are not supported");
      if (c == '&' && more() && peek() == '&') throw RegexError(here, "class intersection (&&) is not supported");
      uint32_t lo = c;
      if (c == '\\' && !escape(cls, true, &lo)) continue;  // a property: no range
      if (more() && peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        uint32_t hi = p_[i_++];
        if (hi == '\\') {
          Regex::Class dummy;
          if (!escape(dummy, true, &hi)) throw RegexError(here, "a range ending in a class escape");
        } else if (hi == '[') {
          throw RegexError(here, "nested classes are not supported");
        }
        if (hi < lo) throw RegexError(here, "a range whose end is before its start");
        add_range(cls, lo, hi, here);
      } else {
        add_range(cls, lo, lo, here);
      }
    }
    return cls;
  }

  std::u32string p_;
  size_t i_ = 0;
  bool icase_ = false;
  int depth_ = 0;
  std::vector<Regex::Class>& classes_;
};

class Compiler {
 public:
  explicit Compiler(std::vector<Regex::Inst>& prog) : prog_(prog) {}

  void emit(const Node& n) {
    using Op = Regex::Op;
    if (prog_.size() > 100000) throw RegexError(0, "the pattern is too large");
    switch (n.kind) {
      case Node::Kind::kClass:
        prog_.push_back({Op::kClass, 0, 0, n.cls});
        break;
      case Node::Kind::kCat:
        for (const auto& k : n.kids) emit(k);
        break;
      case Node::Kind::kAlt: {
        std::vector<size_t> jumps;
        for (size_t k = 0; k < n.kids.size(); ++k) {
          size_t split = 0;
          if (k + 1 < n.kids.size()) {
            split = prog_.size();
            prog_.push_back({Op::kSplit, static_cast<int32_t>(split + 1), 0});
          }
          emit(n.kids[k]);
          if (k + 1 < n.kids.size()) {
            jumps.push_back(prog_.size());
            prog_.push_back({Op::kJmp});
            prog_[split].y = here();
          }
        }
        for (const size_t j : jumps) prog_[j].x = here();
        break;
      }
      case Node::Kind::kRepeat: {
        for (int32_t k = 0; k < n.min; ++k) emit(n.kids[0]);
        if (n.max == kInf) {
          const int32_t loop = here();
          prog_.push_back({Op::kSplit});
          emit(n.kids[0]);
          prog_.push_back({Op::kJmp, loop});
          set_split(loop, loop + 1, here(), n.greedy);
        } else {
          std::vector<int32_t> splits;
          for (int32_t k = n.min; k < n.max; ++k) {
            splits.push_back(here());
            prog_.push_back({Op::kSplit});
            emit(n.kids[0]);
          }
          for (const int32_t s : splits) set_split(s, s + 1, here(), n.greedy);
        }
        break;
      }
      case Node::Kind::kLook: {
        const int32_t look = here();
        prog_.push_back({Op::kLook, look + 1, 0, -1, n.negative});
        emit(n.kids[0]);
        prog_.push_back({Op::kMatch});
        prog_[look].y = here();
        break;
      }
    }
  }

 private:
  int32_t here() const { return static_cast<int32_t>(prog_.size()); }
  void set_split(int32_t at, int32_t body, int32_t exit, bool greedy) {
    prog_[at].x = greedy ? body : exit;
    prog_[at].y = greedy ? exit : body;
  }
  std::vector<Regex::Inst>& prog_;
};

}  // namespace

bool Regex::Class::matches(uint32_t cp) const {
  bool m = any ? cp != '\n' : false;
  if (!m) {
    const uint32_t f = unicode::flags(cp);  // 0 for kInvalid
    m = (f & flags) != 0 || (not_flags & ~f) != 0;
  }
  if (!m)
    for (const auto& [lo, hi] : ranges)
      if (cp >= lo && cp <= hi) {
        m = true;
        break;
      }
  return negated ? !m : m;
}

Regex::Regex(std::string_view pattern) {
  const Node root = Parser(pattern, classes_).parse();
  if (nullable(root)) throw RegexError(0, "the pattern can match the empty string");
  Compiler(prog_).emit(root);
  prog_.push_back({Op::kMatch});
  for (auto& in : prog_)
    if (in.op == Op::kSplit || in.op == Op::kLook) in.cls = static_cast<int32_t>(branch_points_++);
}

bool Regex::run(int32_t pc, std::string_view text, size_t sp, size_t& end, Memo& memo) const {
  thread_local std::vector<std::pair<int32_t, size_t>> stack;
  const size_t base = stack.size();
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (;;) {
    const Inst& in = prog_[static_cast<size_t>(pc)];
    bool ok = true;
    if (in.op == Op::kSplit || in.op == Op::kLook) {
      if (memo.seen.empty() && ++memo.steps > 10000 + 64 * n && branch_points_ * (n + 1) < (size_t{1} << 32))
        memo.seen.assign((branch_points_ * (n + 1) + 63) / 64, 0);
      if (!memo.seen.empty()) {
        const size_t k = static_cast<size_t>(in.cls) * (n + 1) + sp;
        if (memo.seen[k / 64] >> (k % 64) & 1) ok = false;
        memo.seen[k / 64] |= uint64_t{1} << (k % 64);
      }
    }
    if (ok) switch (in.op) {
      case Op::kClass: {
        size_t len = 0;
        if (sp < n && classes_[static_cast<size_t>(in.cls)].matches(unicode::decode_utf8(s + sp, n - sp, len))) {
          sp += len;
          ++pc;
        } else {
          ok = false;
        }
        break;
      }
      case Op::kSplit:
        stack.emplace_back(in.y, sp);
        pc = in.x;
        break;
      case Op::kJmp:
        pc = in.x;
        break;
      case Op::kLook: {
        size_t unused = 0;
        Memo own;  // a lookahead's states may succeed, so they are not the outer run's failures
        if (run(in.x, text, sp, unused, own) != in.negative)
          pc = in.y;
        else
          ok = false;
        break;
      }
      case Op::kMatch:
        end = sp;
        stack.resize(base);
        return true;
    }
    if (!ok) {
      if (stack.size() == base) return false;
      pc = stack.back().first;
      sp = stack.back().second;
      stack.pop_back();
    }
  }
}

bool Regex::search(std::string_view text, size_t from, size_t& begin, size_t& end) const {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  Memo memo;  // shared by the start positions: a state's failure does not depend on where the match began
  for (size_t i = from, len = 0; i < text.size(); i += len) {
    unicode::decode_utf8(s + i, text.size() - i, len);
    if (run(0, text, i, end, memo)) {
      begin = i;
      return true;
    }
  }
  return false;
}

}  // namespace ptm::data

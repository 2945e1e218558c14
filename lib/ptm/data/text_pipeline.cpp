// Normalizers, pre-tokenizers and decoders after `tokenizers`' own (normalizers/*.rs,
// pre_tokenizers/*.rs, decoders/*.rs, NormalizedString::split), and their tokenizer.json forms.
#include "ptm/data/text_pipeline.h"

#include <tuple>

#include "ptm/core/errors.h"
#include "ptm/data/byte_level.h"
#include "ptm/data/pretokenize.h"
#include "ptm/data/unicode.h"
#include "ptm/data/utf8_check.h"

namespace ptm::data {
namespace {

using json = nlohmann::json;

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  for (size_t at; (at = s.find(from, i)) != std::string::npos; i = at + from.size()) out.append(s, i, at - i) += to;
  out.append(s, i, std::string::npos);
  s.swap(out);
}

struct Piece {
  std::string text;
  bool at_start;
};

// NormalizedString::split: the pattern's matches and the text between them, as the behavior
// groups them; empty pieces dropped.
void split_piece(const Piece& p, const std::vector<std::tuple<size_t, size_t, bool>>& parts, SplitBehavior behavior,
                 std::vector<Piece>& out) {
  std::vector<std::pair<size_t, size_t>> keep;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& [b, e, m] : parts) keep.emplace_back(b, e);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& [b, e, m] : parts)
        if (!m) keep.emplace_back(b, e);
      break;
    case SplitBehavior::kContiguous:
      for (const auto& [b, e, m] : parts) {
        if (m == previous_match && !keep.empty())
          keep.back().second = e;
        else
          keep.emplace_back(b, e);
        previous_match = m;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& [b, e, m] : parts) {
        if (m && !previous_match && !keep.empty())
          keep.back().second = e;
        else
          keep.emplace_back(b, e);
        previous_match = m;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        const auto& [b, e, m] = *it;
        if (m && !previous_match && !keep.empty())
          keep.back().first = b;
        else
          keep.emplace_back(b, e);
        previous_match = m;
      }
      std::reverse(keep.begin(), keep.end());
      break;
  }
  for (const auto& [b, e] : keep)
    if (e > b) out.push_back({p.text.substr(b, e - b), p.at_start && b == 0});
}

// Pattern::find_matches: every match and every stretch between matches, in order.
std::vector<std::tuple<size_t, size_t, bool>> find_matches(const PreTokenizerStep& step, const std::string& s) {
  std::vector<std::tuple<size_t, size_t, bool>> parts;
  size_t prev = 0, b = 0, e = 0;
  auto next = [&](size_t from) {
    if (step.regex) return step.regex->search(s, from, b, e);
    b = s.find(step.literal, from);
    if (b == std::string::npos) return false;
    e = b + step.literal.size();
    return true;
  };
  for (size_t from = 0; from < s.size() && next(from); from = e) {
    if (b > prev) parts.emplace_back(prev, b, step.invert);
    parts.emplace_back(b, e, !step.invert);
    prev = e;
  }
  if (prev < s.size()) parts.emplace_back(prev, s.size(), step.invert);
  return parts;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

std::string TextPipeline::normalize(std::string_view text) const {
  std::string normalized(text);
  for (const auto& n : normalizers) {
    if (n.kind == NormalizerStep::Kind::kPrepend) {
      if (!normalized.empty()) normalized.insert(0, n.text);
    } else {
      replace_all(normalized, n.text, n.content);
    }
  }
  return normalized;
}

void TextPipeline::pre_tokenize(std::string normalized, bool at_start, std::vector<std::string>& pieces) const {
  std::vector<Piece> cur, next;
  if (!normalized.empty()) cur.push_back({std::move(normalized), at_start});
  for (const auto& step : pre_tokenizers) {
    next.clear();
    for (auto& p : cur) {
      switch (step.kind) {
        case PreTokenizerStep::Kind::kSplit:
          split_piece(p, find_matches(step, p.text), step.behavior, next);
          break;
        case PreTokenizerStep::Kind::kByteLevel: {
          if (step.add_prefix_space && !starts_with(p.text, " ")) p.text.insert(0, " ");
          if (!step.use_regex) {
            next.push_back(std::move(p));
            break;
          }
          std::vector<std::string_view> views;
          split_gpt2(p.text, views);
          for (const auto v : views) next.push_back({std::string(v), p.at_start && v.data() == p.text.data()});
          break;
        }
        case PreTokenizerStep::Kind::kMetaspace: {
          replace_all(p.text, " ", step.replacement);
          if (!starts_with(p.text, step.replacement) &&
              (step.prepend == PrependScheme::kAlways || (step.prepend == PrependScheme::kFirst && p.at_start)))
            p.text.insert(0, step.replacement);
          if (!step.split) {
            next.push_back(std::move(p));
            break;
          }
          PreTokenizerStep by_char;
          by_char.literal = step.replacement;
          split_piece(p, find_matches(by_char, p.text), SplitBehavior::kMergedWithNext, next);
          break;
        }
      }
    }
    cur.swap(next);
  }
  for (auto& p : cur)
    if (!p.text.empty()) pieces.push_back(std::move(p.text));
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  for (size_t i = 0, len = 0; i < n; i += len) {
    if (unicode::decode_utf8(s + i, n - i, len) != unicode::kInvalid) {
      out.append(bytes.substr(i, len));
      continue;
    }
    // The maximal prefix of a valid sequence is replaced as one (Unicode's recommended practice).
    len = invalid_utf8_length(s + i, n - i);
    unicode::append_utf8(out, unicode::kReplacement);
  }
  return out;
}

namespace {

// u8::from_str_radix(s, 16) on two characters: an optional '+' then hex digits.
int hex_byte(std::string_view s) {
  if (s.size() != 2) return -1;
  int v = 0, digits = 0;
  for (size_t i = 0; i < 2; ++i) {
    const char c = s[i];
    if (i == 0 && c == '+') continue;
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
    ++digits;
  }
  return digits ? v : -1;
}

}  // namespace

std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens) {
  if (steps.empty()) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  std::vector<std::string> next;
  for (const auto& step : steps) {
    next.clear();
    switch (step.kind) {
      case DecoderStep::Kind::kByteLevel: {
        std::string bytes;
        for (const auto& t : tokens) byte_level::from_symbols(t, bytes);
        next.push_back(utf8_lossy(bytes));
        break;
      }
      case DecoderStep::Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          // Every replacement character of the first token goes (not only a leading one), as in
          // `tokenizers`.
          std::string t = tokens[i];
          replace_all(t, step.content, i == 0 && step.prepend != PrependScheme::kNever ? "" : " ");
          next.push_back(std::move(t));
        }
        break;
      case DecoderStep::Kind::kReplace:
        for (auto& t : tokens) {
          replace_all(t, step.pattern, step.content);
          next.push_back(std::move(t));
        }
        break;
      case DecoderStep::Kind::kByteFallback: {
        std::string bytes;
        size_t count = 0;
        auto flush = [&] {
          if (!count) return;
          size_t len = 0;
          bool valid = true;
          for (size_t i = 0; i < bytes.size() && valid; i += len)
            valid = unicode::decode_utf8(reinterpret_cast<const unsigned char*>(bytes.data()) + i, bytes.size() - i,
                                         len) != unicode::kInvalid;
          if (valid) {
            next.push_back(bytes);
          } else {
            for (size_t k = 0; k < count; ++k) next.emplace_back("\xEF\xBF\xBD");
          }
          bytes.clear();
          count = 0;
        };
        for (auto& t : tokens) {
          const int b = t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' ? hex_byte(std::string_view(t).substr(3, 2)) : -1;
          if (b >= 0) {
            bytes.push_back(static_cast<char>(b));
            ++count;
          } else {
            flush();
            next.push_back(std::move(t));
          }
        }
        flush();
        break;
      }
      case DecoderStep::Kind::kFuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        next.push_back(std::move(all));
        break;
      }
      case DecoderStep::Kind::kStrip:
        for (const auto& t : tokens) {
          std::vector<std::pair<size_t, size_t>> chars;  // (offset, length)
          const auto* s = reinterpret_cast<const unsigned char*>(t.data());
          for (size_t i = 0, len = 0; i < t.size(); i += len) {
            unicode::decode_utf8(s + i, t.size() - i, len);
            chars.emplace_back(i, len);
          }
          auto is_content = [&](size_t k) { return t.compare(chars[k].first, chars[k].second, step.content) == 0; };
          size_t begin = 0, end = chars.size();
          while (begin < step.start && begin < end && is_content(begin)) ++begin;
          for (size_t k = 0; k < step.stop && end > begin && is_content(end - 1); ++k) --end;
          const size_t from = begin < chars.size() ? chars[begin].first : t.size();
          const size_t to = end < chars.size() ? chars[end].first : t.size();
          next.push_back(t.substr(from, to > from ? to - from : 0));
        }
        break;
    }
    tokens.swap(next);
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

namespace {

ConfigError bad(const std::string& file, const std::string& key, const std::string& message) {
  return ConfigError(Origin{file}, key, message);
}

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
}

std::string string_at(const json& j, const char* name, const std::string& file, const std::string& key) {
  if (!j.contains(name) || !j[name].is_string()) throw bad(file, key + "." + name, "expected a string");
  return j[name].get<std::string>();
}

// A {"String": s} pattern (Replace); a {"Regex": r} one is refused (ptm matches Regex patterns
// only where `Split` uses them).
std::string string_pattern(const json& j, const std::string& file, const std::string& key) {
  const json& p = j.contains("pattern") ? j["pattern"] : json();
  if (p.is_object() && p.contains("String") && p["String"].is_string() && !p["String"].get<std::string>().empty())
    return p["String"].get<std::string>();
  if (p.is_object() && p.contains("Regex")) throw bad(file, key + ".pattern.Regex", "unsupported here (expected a String pattern)");
  throw bad(file, key + ".pattern", "expected {\"String\": \"...\"} (not empty)");
}

// One character, as Metaspace's replacement is in `tokenizers`.
std::string one_char(const json& j, const char* name, const std::string& file, const std::string& key) {
  const std::string s = string_at(j, name, file, key);
  size_t len = 0;
  if (s.empty() || unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data()), s.size(), len) == unicode::kInvalid ||
      len != s.size())
    throw bad(file, key + "." + name, "expected one character, got \"" + s + "\"");
  return s;
}

PrependScheme prepend_scheme(const json& j, const std::string& file, const std::string& key) {
  if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
    const std::string s = j["prepend_scheme"];
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    throw bad(file, key + ".prepend_scheme", "unsupported \"" + s + "\" (expected always, first or never)");
  }
  // Files before prepend_scheme: add_prefix_space true (the default) is "always".
  return j.value("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

template <class Step, class One>
std::vector<Step> parse_sequence(const json& j, const char* list, const std::string& file, const std::string& key,
                                 One&& one) {
  std::vector<Step> out;
  if (j.is_null()) return out;
  if (type_of(j) == "Sequence") {
    if (!j.contains(list) || !j[list].is_array()) throw bad(file, key + "." + list, "expected a list");
    for (size_t i = 0; i < j[list].size(); ++i) {
      auto part = parse_sequence<Step>(j[list][i], list, file, key + "." + list + "[" + std::to_string(i) + "]", one);
      out.insert(out.end(), part.begin(), part.end());
    }
    return out;
  }
  out.push_back(one(j, key));
  return out;
}

}  // namespace

std::vector<NormalizerStep> parse_normalizers(const json& j, const std::string& file, const std::string& key) {
  return parse_sequence<NormalizerStep>(j, "normalizers", file, key, [&](const json& n, const std::string& k) {
    const std::string type = type_of(n);
    NormalizerStep s;
    if (type == "Prepend") {
      s.kind = NormalizerStep::Kind::kPrepend;
      s.text = string_at(n, "prepend", file, k);
    } else if (type == "Replace") {
      s.kind = NormalizerStep::Kind::kReplace;
      s.text = string_pattern(n, file, k);
      s.content = string_at(n, "content", file, k);
    } else {
      throw bad(file, k + ".type", "unsupported normalizer \"" + type + "\" (ptm runs Prepend, Replace and Sequence here)");
    }
    return s;
  });
}

std::vector<PreTokenizerStep> parse_pre_tokenizers(const json& j, const std::string& file, const std::string& key) {
  auto steps = parse_sequence<PreTokenizerStep>(j, "pretokenizers", file, key, [&](const json& p, const std::string& k) {
    const std::string type = type_of(p);
    PreTokenizerStep s;
    if (type == "Split") {
      s.kind = PreTokenizerStep::Kind::kSplit;
      const json& pat = p.contains("pattern") ? p["pattern"] : json();
      if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
        try {
          s.regex = std::make_shared<const Regex>(pat["Regex"].get<std::string>());
        } catch (const RegexError& e) {
          throw bad(file, k + ".pattern.Regex", std::string("unsupported pattern ") + e.what());
        }
      } else {
        s.literal = string_pattern(p, file, k);
      }
      const std::string behavior = p.value("behavior", std::string("Isolated"));
      if (behavior == "Removed") s.behavior = SplitBehavior::kRemoved;
      else if (behavior == "Isolated") s.behavior = SplitBehavior::kIsolated;
      else if (behavior == "MergedWithPrevious") s.behavior = SplitBehavior::kMergedWithPrevious;
      else if (behavior == "MergedWithNext") s.behavior = SplitBehavior::kMergedWithNext;
      else if (behavior == "Contiguous") s.behavior = SplitBehavior::kContiguous;
      else
        throw bad(file, k + ".behavior",
                  "unsupported \"" + behavior + "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
      s.invert = p.value("invert", false);
    } else if (type == "ByteLevel") {
      s.kind = PreTokenizerStep::Kind::kByteLevel;
      s.add_prefix_space = p.value("add_prefix_space", true);
      s.use_regex = p.value("use_regex", true);
    } else if (type == "Metaspace") {
      s.kind = PreTokenizerStep::Kind::kMetaspace;
      s.replacement = one_char(p, "replacement", file, k);
      s.prepend = prepend_scheme(p, file, k);
      s.split = p.value("split", true);
    } else {
      throw bad(file, k + ".type",
                "unsupported pre-tokenizer \"" + type + "\" (ptm runs Split, ByteLevel, Metaspace and Sequence here)");
    }
    return s;
  });
  for (size_t i = 0; i + 1 < steps.size(); ++i)
    if (steps[i].kind == PreTokenizerStep::Kind::kByteLevel)
      throw bad(file, key, "ByteLevel must be the last pre-tokenizer (ptm maps bytes to symbols in the model)");
  return steps;
}

std::vector<DecoderStep> parse_decoders(const json& j, const std::string& file, const std::string& key) {
  return parse_sequence<DecoderStep>(j, "decoders", file, key, [&](const json& d, const std::string& k) {
    const std::string type = type_of(d);
    DecoderStep s;
    if (type == "ByteLevel") {
      s.kind = DecoderStep::Kind::kByteLevel;
    } else if (type == "Metaspace") {
      s.kind = DecoderStep::Kind::kMetaspace;
      s.content = one_char(d, "replacement", file, k);
      s.prepend = prepend_scheme(d, file, k);
    } else if (type == "Replace") {
      s.kind = DecoderStep::Kind::kReplace;
      s.pattern = string_pattern(d, file, k);
      s.content = string_at(d, "content", file, k);
    } else if (type == "ByteFallback") {
      s.kind = DecoderStep::Kind::kByteFallback;
    } else if (type == "Fuse") {
      s.kind = DecoderStep::Kind::kFuse;
    } else if (type == "Strip") {
      s.kind = DecoderStep::Kind::kStrip;
      s.content = one_char(d, "content", file, k);
      for (const char* n : {"start", "stop"})
        if (!d.contains(n) || !d[n].is_number_unsigned() || d[n].get<uint64_t>() > 1000000)
          throw bad(file, k + "." + n, "expected a count of characters");
      s.start = d["start"].get<size_t>();
      s.stop = d["stop"].get<size_t>();
    } else {
      throw bad(file, k + ".type",
                "unsupported decoder \"" + type +
                    "\" (ptm runs ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip and Sequence here)");
    }
    return s;
  });
}

}  // namespace ptm::data

// Edit distance, suggestions, join/split.
#include "ptm/core/text.h"

#include <algorithm>
#include <cctype>

namespace ptm::text {

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent
  // transpositions ("stpes" -> "steps") each cost one. Three rows of the table (the
  // transposition looks two rows back), so memory stays linear in the shorter word.
  const std::string& s = a.size() >= b.size() ? a : b;
  const std::string& t = a.size() >= b.size() ? b : a;
  const size_t m = t.size();
  std::vector<size_t> back2(m + 1), back(m + 1), row(m + 1);
  for (size_t j = 0; j <= m; ++j) back[j] = j;
  auto eq = [](char x, char y) { return std::tolower(x) == std::tolower(y); };
  for (size_t i = 1; i <= s.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      row[j] = std::min({back[j] + 1, row[j - 1] + 1, back[j - 1] + (eq(s[i - 1], t[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && eq(s[i - 1], t[j - 2]) && eq(s[i - 2], t[j - 1]))
        row[j] = std::min(row[j], back2[j - 2] + 1);
    }
    std::swap(back2, back);
    std::swap(back, row);
  }
  return back[m];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  // Roughly one edit per three characters (1..3), never as many edits as the word is long;
  // a candidate that extends the word ("warmup" -> "warmup_steps") also counts.
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    // The distance is at least the difference in length: a long unknown key (a fuzzer's, or
    // a pasted paragraph) costs no table against every known name.
    const size_t gap = word.size() > c.size() ? word.size() - c.size() : c.size() - word.size();
    if (gap >= best_d) continue;
    const size_t d = edit_distance(word, c);
    if (d < best_d && d < std::max(word.size(), c.size()) && d < word.size()) {
      best_d = d;
      best = c;
    }
  }
  if (best.empty() && word.size() >= 4) {
    for (const auto& c : candidates)
      if (c.rfind(word, 0) == 0) return c;
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string c = closest(word, candidates);
  return c.empty() ? std::string() : " (did you mean " + c + "?)";
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace ptm::text

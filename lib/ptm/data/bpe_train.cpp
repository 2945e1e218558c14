// Byte-level BPE training (the algorithm of Hugging Face's BpeTrainer): count GPT-2 pieces,
// then repeatedly merge the most frequent adjacent pair (ties: smallest (left id, right id)),
// updating pair counts incrementally for the words that contain the merged pair.
#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "ptm/core/errors.h"
#include "ptm/data/bpe.h"
#include "ptm/data/byte_level.h"
#include "ptm/data/pretokenize.h"
#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

inline uint64_t key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

struct Candidate {
  int64_t count;
  uint64_t pair;
  // Max-heap on count; on equal counts the smaller pair (left id, then right id) comes first.
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

}  // namespace

std::unique_ptr<Tokenizer> train_byte_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options) {
  if (options.vocab_size <= 0)
    throw ConfigError(Origin{"bpe training"}, "vocab_size",
                      "must be positive, got " + std::to_string(options.vocab_size));

  // 1. Vocabulary start: the specials, then the 256 byte symbols in code point order (as HF).
  std::vector<std::string> vocab;
  std::unordered_map<std::string, int32_t> ids;
  AddedVocab specials;
  for (const auto& s : options.special_tokens) {
    if (s.empty() || ids.count(s)) continue;
    ids.emplace(s, static_cast<int32_t>(vocab.size()));
    specials.add(AddedToken{s, static_cast<int32_t>(vocab.size())});
    vocab.push_back(s);
  }
  std::vector<int> bytes_by_cp(256);
  for (int b = 0; b < 256; ++b) bytes_by_cp[b] = b;
  std::sort(bytes_by_cp.begin(), bytes_by_cp.end(), [](int x, int y) {
    return byte_level::byte_to_cp(static_cast<uint8_t>(x)) < byte_level::byte_to_cp(static_cast<uint8_t>(y));
  });
  std::array<int32_t, 256> byte_id{};
  for (const int b : bytes_by_cp) {
    const std::string& sym = byte_level::byte_symbols()[b];
    const auto it = ids.find(sym);
    if (it != ids.end()) {
      byte_id[b] = it->second;
      continue;
    }
    byte_id[b] = static_cast<int32_t>(vocab.size());
    ids.emplace(sym, byte_id[b]);
    vocab.push_back(sym);
  }

  // 2. Word counts over GPT-2 pieces (special tokens cut out first).
  std::unordered_map<std::string_view, int64_t> counts;
  std::vector<std::string_view> pieces;
  for (const auto& text : texts) {
    pieces.clear();
    specials.split(
        text, [&](std::string_view part) { split_gpt2(part, pieces); }, [](int32_t) {});
    for (const auto p : pieces) ++counts[p];
  }
  std::vector<std::pair<std::string_view, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int32_t>> words(sorted.size());
  std::vector<int64_t> word_count(sorted.size());
  for (size_t w = 0; w < sorted.size(); ++w) {
    for (const char c : sorted[w].first) words[w].push_back(byte_id[static_cast<unsigned char>(c)]);
    word_count[w] = sorted[w].second;
  }
  counts.clear();

  // 3. Pair counts and where each pair occurs.
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;
  for (size_t w = 0; w < words.size(); ++w)
    for (size_t i = 0; i + 1 < words[w].size(); ++i) {
      const uint64_t k = key(words[w][i], words[w][i + 1]);
      pair_count[k] += word_count[w];
      auto& list = where[k];
      if (list.empty() || list.back() != static_cast<int32_t>(w)) list.push_back(static_cast<int32_t>(w));
    }
  std::priority_queue<Candidate> heap;
  for (const auto& [k, c] : pair_count) heap.push({c, k});

  // 4. Merges.
  BpeSpec spec;
  const int64_t min_count = std::max<int64_t>(1, options.min_frequency);
  std::vector<uint32_t> stamp(words.size(), 0);
  uint32_t round = 0;
  std::unordered_set<uint64_t> touched;
  while (static_cast<int64_t>(vocab.size()) < options.vocab_size && !heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    const auto pc = pair_count.find(top.pair);
    const int64_t current = pc == pair_count.end() ? 0 : pc->second;
    if (current != top.count) {
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (top.count < min_count) break;
    const auto a = static_cast<int32_t>(top.pair >> 32), b = static_cast<int32_t>(top.pair & 0xFFFFFFFFu);
    const std::string merged = vocab[a] + vocab[b];
    int32_t id;
    if (const auto it = ids.find(merged); it != ids.end()) {
      id = it->second;
    } else {
      id = static_cast<int32_t>(vocab.size());
      ids.emplace(merged, id);
      vocab.push_back(merged);
    }
    spec.merges.emplace_back(a, b);

    ++round;
    touched.clear();
    auto change = [&](int32_t x, int32_t y, int64_t delta, int32_t w) {
      const uint64_t k = key(x, y);
      pair_count[k] += delta;
      if (delta > 0) {
        touched.insert(k);
        auto& list = where[k];
        if (list.empty() || list.back() != w) list.push_back(w);
      }
    };
    std::vector<int32_t> occurrences;
    occurrences.swap(where[top.pair]);
    for (const int32_t w : occurrences) {
      if (stamp[w] == round) continue;
      stamp[w] = round;
      auto& sym = words[w];
      const int64_t n = word_count[w];
      for (size_t i = 0; i + 1 < sym.size(); ++i) {
        if (sym[i] != a || sym[i + 1] != b) continue;
        if (i > 0) {
          change(sym[i - 1], a, -n, w);
          change(sym[i - 1], id, n, w);
        }
        if (i + 2 < sym.size()) {
          change(b, sym[i + 2], -n, w);
          change(id, sym[i + 2], n, w);
        }
        sym[i] = id;
        sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    }
    pair_count.erase(top.pair);
    where.erase(top.pair);
    for (const uint64_t k : touched) {
      const auto it = pair_count.find(k);
      if (it != pair_count.end() && it->second > 0) heap.push({it->second, k});
    }
  }

  spec.vocab = std::move(vocab);
  auto tok = make_bpe_tokenizer(std::move(spec), "bpe training");
  for (const auto& t : specials.tokens()) tok->add_token(t);
  return tok;
}

}  // namespace ptm::data

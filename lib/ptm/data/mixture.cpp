// The seeded interleave of weighted sources (see mixture.h).
#include "ptm/data/mixture.h"

#include "ptm/core/splitmix.h"

namespace ptm::data {

MixturePlan plan_mixture(const std::vector<double>& weights,
                         const std::vector<std::function<bool(int64_t&)>>& next_size, uint64_t seed) {
  const size_t k = weights.size();
  double sum = 0;
  for (const double w : weights) sum += w;
  MixturePlan plan;
  plan.documents.assign(k, 0);
  plan.bytes.assign(k, 0);
  int64_t total = 0;
  std::vector<size_t> eligible;
  for (uint64_t step = 0;; ++step) {
    // Sources at or below their share (all at the start); never empty, since the shares sum to 1.
    eligible.clear();
    double mass = 0;
    for (size_t i = 0; i < k; ++i)
      if (weights[i] > 0 &&
          static_cast<double>(plan.bytes[i]) <= weights[i] / sum * static_cast<double>(total) * (1 + 1e-12)) {
        eligible.push_back(i);
        mass += weights[i];
      }
    const double u = static_cast<double>(splitmix64(seed * 0x9e3779b97f4a7c15ull + step) >> 11) *
                     (1.0 / 9007199254740992.0) * mass;
    size_t pick = eligible.back();
    double acc = 0;
    for (const size_t i : eligible) {
      acc += weights[i];
      if (u < acc) {
        pick = i;
        break;
      }
    }
    int64_t n = 0;
    if (!next_size[pick](n)) break;
    plan.order.push_back(static_cast<uint8_t>(pick));
    ++plan.documents[pick];
    plan.bytes[pick] += n;
    total += n;
  }
  return plan;
}

int next_source(const std::vector<double>& shares, std::vector<int64_t>& counts, const std::vector<bool>& open) {
  int64_t total = 0;
  size_t positive = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    total += counts[i];
    positive += shares[i] > 0 ? 1 : 0;
  }
  const double d = positive > 1 ? 1.0 / static_cast<double>(2 * positive - 2) : 0.0;
  int pick = -1, behind = -1;
  double deadline = 0, deficit = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    if (!open[i] || !(shares[i] > 0)) continue;
    const double due = shares[i] * static_cast<double>(total + 1) - static_cast<double>(counts[i]);
    if (behind < 0 || due > deficit) {
      behind = static_cast<int>(i);
      deficit = due;
    }
    if (due < d - 1e-9) continue;
    const double when = (static_cast<double>(counts[i]) + 1 - d) / shares[i];
    if (pick < 0 || when < deadline) {
      pick = static_cast<int>(i);
      deadline = when;
    }
  }
  // None eligible happens only with closed sources (or rounding): the one furthest behind.
  if (pick < 0) pick = behind;
  if (pick >= 0) ++counts[static_cast<size_t>(pick)];
  return pick;
}

std::vector<MixtureSlot> plan_batch(const std::vector<double>& shares, std::vector<int64_t>& counts, uint64_t seed,
                                    int64_t batch, int64_t rows) {
  constexpr uint64_t kShuffleStream = 0x6d69785f73687566ull;  // "mix_shuf"
  const std::vector<bool> open(counts.size(), true);
  std::vector<MixtureSlot> slot(static_cast<size_t>(rows));
  std::vector<int64_t> ordinal = counts;  // each source's draws before this batch
  for (auto& x : slot) x.source = next_source(shares, counts, open);
  for (int64_t t = rows - 1; t > 0; --t) {
    const auto j = counter_hash(seed, kShuffleStream, static_cast<uint64_t>(batch * rows + t)) % static_cast<uint64_t>(t + 1);
    std::swap(slot[static_cast<size_t>(t)], slot[j]);
  }
  for (auto& x : slot) x.ordinal = ordinal[static_cast<size_t>(x.source)]++;
  return slot;
}

}  // namespace ptm::data

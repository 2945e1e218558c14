// Weighted mixtures of sources for `ptm data prepare` (recipe key `weights:`, one per source):
// the order in which the sources' documents are interleaved. Proportions are of text bytes.
// At each step a source is drawn, with probability proportional to its weight, among those
// not ahead of their share so far (seeded); a source is never repeated, so the mixture ends
// when a drawn source has no document left: the scarcest source (relative to its weight) is
// used whole, the others as far as their share needs. Every source stays within about one
// document of its share at every point.
// Training-time mixtures (data types "mixture" and "task_mixture") draw windows or examples
// instead: next_source() gives the source of each one, keeping every source within one draw of
// its share at every point, and plan_batch() spreads a global batch's draws over its rows.
// Torch-free.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ptm::data {

struct MixturePlan {
  std::vector<uint8_t> order;       // the source of each document of the mixture, in order
  std::vector<int64_t> documents;   // per source: documents used
  std::vector<int64_t> bytes;       // per source: their text bytes
};

// `next_size[i](n)` gives source i's next document's size in bytes; false when it has none.
// `weights` are >= 0 with a positive sum (at most 255 sources).
MixturePlan plan_mixture(const std::vector<double>& weights,
                         const std::vector<std::function<bool(int64_t&)>>& next_size, uint64_t seed);

// The source of the next window given each source's windows so far (`counts`, then
// incremented), with `shares` >= 0 summing to 1. Tijdeman's rule for the chairman assignment
// problem: among the sources at least d = 1/(2k-2) below their share of the next window, the
// one that would fall behind first. After any n windows every source has p*n windows within
// 1 - d (k sources with a positive share), so a block of windows holds each source's share
// exactly up to that rounding, and the choice depends only on the counts (what a checkpoint
// keeps). Sources with open[i] false are passed over (an evaluation split walked to its end);
// -1 when none is open.
int next_source(const std::vector<double>& shares, std::vector<int64_t>& counts, const std::vector<bool>& open);

// One row of a global batch: its source and the source's draw number (0, 1, ... over the run).
struct MixtureSlot {
  int source = 0;
  int64_t ordinal = 0;
};

// The rows of training batch number `batch` (all ranks' rows of one step, `rows` of them):
// next_source() for each row (all sources open; `counts` advances), then a seeded shuffle of the
// rows so that the sources spread over rows and ranks; each source's draws keep their order.
// Depends only on (shares, counts, seed, batch): what a checkpoint keeps.
std::vector<MixtureSlot> plan_batch(const std::vector<double>& shares, std::vector<int64_t>& counts, uint64_t seed,
                                    int64_t batch, int64_t rows);

}  // namespace ptm::data

// The genomes a search may visit: per kept layer a head count and an MLP width from fixed
// choice lists, and how many layers may be dropped. Sampling, mutation and crossover never
// leave the space.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ptm/nas/genome.h"

namespace ptm::nas {

struct SearchSpace {
  int64_t n_layer = 0;
  std::vector<int64_t> heads;  // allowed heads per kept layer, ascending
  std::vector<int64_t> inner;  // allowed MLP widths per kept layer, ascending
  int64_t min_depth = 1;       // fewest kept layers; layers may be dropped only if min_depth < n_layer

  bool can_drop() const { return min_depth < n_layer; }
  Genome largest() const;   // every layer kept with the largest choices
  Genome smallest() const;  // the first min_depth layers kept with the smallest choices
  // Depth uniform in [min_depth, n_layer], which layers are kept uniform among subsets of that
  // size, then heads and width uniform per kept layer (uniform per layer choice would almost
  // never drop a layer).
  Genome sample(std::mt19937_64& rng) const;
  // Per layer with probability p: drop or restore it (half of the time, when the space drops
  // layers), else redraw its heads, its width or both. The result keeps >= min_depth layers.
  Genome mutate(const Genome& g, double p, std::mt19937_64& rng) const;
  // Each layer from either parent with probability 1/2; dropped layers are restored (fresh
  // choices) at random until min_depth layers are kept.
  Genome crossover(const Genome& a, const Genome& b, std::mt19937_64& rng) const;
  // SortedNet: k nested genomes from smallest() to largest(); every choice of one is <= the
  // next's (a dropped layer counts as smaller than any kept one), the first layers are kept.
  std::vector<Genome> sorted_nested(int64_t k) const;
  // Why a genome is outside the space, as a message naming the layer; empty when inside.
  std::string check(const Genome& g) const;
  // Validates the space against a model's full sizes; one ptm::ConfigError listing every
  // problem, each naming its key under `key_prefix` (e.g. "nas.space.heads"): empty lists,
  // choices <= 0, above the model's or not ascending, min_depth outside [1, n_layer].
  void validate(int64_t model_heads, int64_t model_inner, const std::string& key_prefix) const;
};

}  // namespace ptm::nas

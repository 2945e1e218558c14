// Sampling, variation and validation of genomes within a search space.
#include "ptm/nas/search_space.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "ptm/core/errors.h"

namespace ptm::nas {
namespace {

int64_t pick(const std::vector<int64_t>& choices, std::mt19937_64& rng) {
  return choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
}

bool coin(double p, std::mt19937_64& rng) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return "[" + s + "]";
}

}  // namespace

Genome SearchSpace::largest() const {
  Genome g;
  g.layers.assign(static_cast<size_t>(n_layer), LayerGene{heads.back(), inner.back()});
  return g;
}

Genome SearchSpace::smallest() const {
  Genome g;
  g.layers.assign(static_cast<size_t>(n_layer), LayerGene{});
  for (int64_t i = 0; i < std::max<int64_t>(min_depth, 1); ++i) g.layers[static_cast<size_t>(i)] = {heads.front(), inner.front()};
  return g;
}

Genome SearchSpace::sample(std::mt19937_64& rng) const {
  const int64_t depth = std::uniform_int_distribution<int64_t>(std::max<int64_t>(min_depth, 1), n_layer)(rng);
  std::vector<size_t> order(static_cast<size_t>(n_layer));
  std::iota(order.begin(), order.end(), size_t{0});
  // Partial Fisher-Yates with our own draws: std::shuffle differs between standard libraries.
  for (size_t i = 0; i < static_cast<size_t>(depth); ++i)
    std::swap(order[i], order[std::uniform_int_distribution<size_t>(i, order.size() - 1)(rng)]);
  Genome g;
  g.layers.assign(static_cast<size_t>(n_layer), LayerGene{});
  for (size_t i = 0; i < static_cast<size_t>(depth); ++i) g.layers[order[i]].heads = 1;  // mark kept
  for (auto& l : g.layers)
    if (l.heads) {
      l.heads = pick(heads, rng);
      l.inner = pick(inner, rng);
    }
  return g;
}

Genome SearchSpace::mutate(const Genome& parent, double p, std::mt19937_64& rng) const {
  Genome g = parent;
  for (size_t i = 0; i < g.layers.size(); ++i) {
    if (!coin(p, rng)) continue;
    const bool kept = g.kept(i);
    // Half of the changes of a layer toggle it, when the space drops layers.
    if (can_drop() && coin(0.5, rng)) {
      if (kept && g.depth() > min_depth) {
        g.layers[i] = {};
        continue;
      }
      if (!kept) {
        g.layers[i] = {pick(heads, rng), pick(inner, rng)};
        continue;
      }
    }
    if (!kept) continue;
    const auto what = std::uniform_int_distribution<int>(0, 2)(rng);  // heads, width or both
    if (what != 1) g.layers[i].heads = pick(heads, rng);
    if (what != 0) g.layers[i].inner = pick(inner, rng);
  }
  return g;
}

Genome SearchSpace::crossover(const Genome& a, const Genome& b, std::mt19937_64& rng) const {
  Genome g = a;
  for (size_t i = 0; i < g.layers.size() && i < b.layers.size(); ++i)
    if (coin(0.5, rng)) g.layers[i] = b.layers[i];
  while (g.depth() < min_depth) {
    std::vector<size_t> dropped;
    for (size_t i = 0; i < g.layers.size(); ++i)
      if (!g.kept(i)) dropped.push_back(i);
    if (dropped.empty()) break;
    const size_t i = dropped[std::uniform_int_distribution<size_t>(0, dropped.size() - 1)(rng)];
    g.layers[i] = {pick(heads, rng), pick(inner, rng)};
  }
  return g;
}

std::vector<Genome> SearchSpace::sorted_nested(int64_t k) const {
  std::vector<Genome> out;
  const auto at = [](size_t n, double f) {  // index into n choices at fraction f
    return static_cast<size_t>(std::lround(f * static_cast<double>(n - 1)));
  };
  const int64_t lo = std::max<int64_t>(min_depth, 1);
  for (int64_t i = 0; i < k; ++i) {
    const double f = k == 1 ? 1.0 : static_cast<double>(i) / static_cast<double>(k - 1);
    const int64_t depth = lo + std::lround(f * static_cast<double>(n_layer - lo));
    Genome g;
    g.layers.assign(static_cast<size_t>(n_layer), LayerGene{});
    for (int64_t l = 0; l < depth; ++l) g.layers[static_cast<size_t>(l)] = {heads[at(heads.size(), f)], inner[at(inner.size(), f)]};
    out.push_back(std::move(g));
  }
  return out;
}

std::string SearchSpace::check(const Genome& g) const {
  if (static_cast<int64_t>(g.layers.size()) != n_layer)
    return "has " + std::to_string(g.layers.size()) + " layers; the model has " + std::to_string(n_layer);
  for (size_t i = 0; i < g.layers.size(); ++i) {
    const auto& l = g.layers[i];
    const std::string at = "layer " + std::to_string(i) + ": ";
    if (!g.kept(i)) {
      if (!can_drop()) return at + "dropped, but the space keeps every layer (min_depth " + std::to_string(min_depth) + ")";
      continue;
    }
    if (!contains(heads, l.heads)) return at + "heads " + std::to_string(l.heads) + " not among " + join(heads);
    if (!contains(inner, l.inner)) return at + "MLP width " + std::to_string(l.inner) + " not among " + join(inner);
  }
  if (g.depth() < min_depth)
    return "keeps " + std::to_string(g.depth()) + " layers; min_depth is " + std::to_string(min_depth);
  return "";
}

void SearchSpace::validate(int64_t model_heads, int64_t model_inner, const std::string& key_prefix) const {
  std::vector<Diagnostic> problems;
  const auto add = [&](const std::string& key, const std::string& msg) {
    problems.push_back({Origin{}, key_prefix.empty() ? key : key_prefix + "." + key, msg});
  };
  const auto choices = [&](const std::vector<int64_t>& v, const std::string& key, const std::string& what, int64_t max) {
    if (v.empty()) return add(key, "empty; list at least one " + what);
    for (int64_t x : v) {
      if (x <= 0) add(key, what + " " + std::to_string(x) + " must be positive");
      else if (x > max) add(key, what + " " + std::to_string(x) + " is above the model's " + std::to_string(max));
    }
    if (std::adjacent_find(v.begin(), v.end(), std::greater_equal<int64_t>()) != v.end())
      add(key, "must be ascending without repeats, got " + join(v));
  };
  if (n_layer <= 0) add("n_layer", "the model has no layers (" + std::to_string(n_layer) + ")");
  choices(heads, "heads", "head count", model_heads);
  choices(inner, "inner", "MLP width", model_inner);
  if (min_depth < 1 || min_depth > n_layer)
    add("min_depth", std::to_string(min_depth) + " is outside [1, " + std::to_string(n_layer) + "] (the model's layers)");
  if (!problems.empty()) throw ConfigError(std::move(problems));
}

}  // namespace ptm::nas
